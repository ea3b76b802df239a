package natsbus

import "strings"

// Every subject is built and parsed here:
//
//	corkboard.board.<board>.<kind>   a board's messages, to the instances that joined it
//	corkboard.all.<kind>             instance-wide messages, to every instance
const (
	boardPrefix    = "corkboard.board."
	instancePrefix = "corkboard.all."
)

// instanceSubjects is what every instance subscribes to.
const instanceSubjects = instancePrefix + "*"

func subject(kind, boardID string) string {
	if boardID == "" {
		return instancePrefix + kind
	}
	return boardPrefix + boardID + "." + kind
}

func boardSubjects(boardID string) string { return boardPrefix + boardID + ".*" }

// parseSubject returns the kind and board of a subject built by subject.
func parseSubject(s string) (kind, boardID string, ok bool) {
	if rest, found := strings.CutPrefix(s, instancePrefix); found {
		return rest, "", rest != "" && !strings.Contains(rest, ".")
	}
	rest, found := strings.CutPrefix(s, boardPrefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[i+1:], rest[:i], true
}
