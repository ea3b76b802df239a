package attachment

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// Thumbnails are at most ThumbSize pixels on their longer side. Images of
// more than MaxThumbPixels pixels get none: decoding one would take more
// memory than a thumbnail is worth (a small file can declare a huge image:
// a decompression bomb), and the header says so before anything is decoded.
const (
	ThumbSize      = 256
	MaxThumbPixels = 16 << 20
)

// ErrNoThumbnail is the error of Thumbnail for a file it cannot make one
// of: not a PNG, JPEG or GIF, too many pixels, or not decodable.
var ErrNoThumbnail = errors.New("attachment: no thumbnail for this file")

// Thumbnail decodes the image in r (PNG, JPEG or GIF: the standard
// library's decoders) after checking its declared size, scales it down to
// fit ThumbSize × ThumbSize (never up), and encodes it again: a JPEG stays
// a JPEG, the others become PNG. It returns the bytes and their type.
func Thumbnail(r io.ReadSeeker) ([]byte, string, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNoThumbnail, err)
	}
	if format != "png" && format != "jpeg" && format != "gif" {
		return nil, "", fmt.Errorf("%w: format %s", ErrNoThumbnail, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxThumbPixels {
		return nil, "", fmt.Errorf("%w: %d×%d pixels", ErrNoThumbnail, cfg.Width, cfg.Height)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, "", fmt.Errorf("rewind image: %w", err)
	}
	var img image.Image
	switch format {
	case "png":
		img, err = png.Decode(r)
	case "jpeg":
		img, err = jpeg.Decode(r)
	case "gif":
		img, err = gif.Decode(r) // the first frame
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNoThumbnail, err)
	}
	small := Downscale(img, ThumbSize)
	var out bytes.Buffer
	if format == "jpeg" {
		err = jpeg.Encode(&out, small, &jpeg.Options{Quality: 82})
		return out.Bytes(), "image/jpeg", err
	}
	err = png.Encode(&out, small)
	return out.Bytes(), "image/png", err
}

// Downscale returns img scaled to fit max × max, keeping its aspect ratio,
// by averaging the source pixels under each target pixel (a box filter,
// in premultiplied alpha); an image that fits already is copied as is.
func Downscale(img image.Image, max int) *image.RGBA {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	tw, th := sw, sh
	if sw > max || sh > max {
		if sw >= sh {
			tw, th = max, sh*max/sw
		} else {
			tw, th = sw*max/sh, max
		}
	}
	tw, th = maxInt(tw, 1), maxInt(th, 1)
	src, ok := img.(image.RGBA64Image)
	if !ok {
		rgba := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				rgba.Set(x, y, img.At(x, y))
			}
		}
		src = rgba
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	// Each target row sums the source rows that map to it, column by
	// column; then each sum is divided by its box's area.
	sum := make([][4]uint64, tw)
	cnt := make([]uint64, tw)
	colOf := make([]int, sw) // target column of each source column
	for x := range sw {
		colOf[x] = x * tw / sw
	}
	sy := 0
	for ty := range th {
		clear(sum)
		clear(cnt)
		end := (ty + 1) * sh / th
		for ; sy < end; sy++ {
			for sx := range sw {
				c := src.RGBA64At(b.Min.X+sx, b.Min.Y+sy)
				s := &sum[colOf[sx]]
				s[0] += uint64(c.R)
				s[1] += uint64(c.G)
				s[2] += uint64(c.B)
				s[3] += uint64(c.A)
				cnt[colOf[sx]]++
			}
		}
		for tx := range tw {
			n := cnt[tx]
			if n == 0 {
				continue
			}
			i := dst.PixOffset(tx, ty)
			for k := range 4 {
				dst.Pix[i+k] = uint8((sum[tx][k] / n) >> 8)
			}
		}
	}
	return dst
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
