package board

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Notification tells a user that someone mentioned them (@username in a
// comment or a card's description) or assigned them to a card. It is
// derived from the committed event named by BoardID and Seq, never for the
// event's own actor, only for members of the board who have not muted it.
// A user sees only the notifications of boards they are still a member of.
type Notification struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"` // NotifyMention or NotifyAssigned
	BoardID       string     `json:"board"`
	BoardName     string     `json:"board_name"`
	Seq           int64      `json:"seq"`
	CardID        string     `json:"card"`
	CardTitle     string     `json:"card_title"`
	CommentID     string     `json:"comment,omitempty"`
	Actor         string     `json:"actor"`
	ActorUsername string     `json:"actor_username"`
	Excerpt       string     `json:"excerpt"`
	CreatedAt     time.Time  `json:"created_at"`
	ReadAt        *time.Time `json:"read_at"`
}

// Kinds of notification.
const (
	NotifyMention  = "mention"
	NotifyAssigned = "assigned"
)

// MaxExcerpt is how many characters of the mentioning text a notification
// keeps.
const MaxExcerpt = 200

// Excerpt is the first MaxExcerpt characters of text, for a notification.
func Excerpt(text string) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= MaxExcerpt {
		return text
	}
	r := []rune(text)
	return string(r[:MaxExcerpt-1]) + "…"
}

// MaxMentions is the most distinct usernames one text mentions; later ones
// are ignored.
const MaxMentions = 50

// Mentions returns the usernames text mentions, each once, in order of
// first appearance: an @ not preceded by a letter, digit or one of _ . - @
// (so that an e-mail address mentions nobody), followed by a username
// (see CheckUsername), matched case-insensitively. A username may end with
// . or -, which a sentence's punctuation also is: "@bob." yields both
// "bob." and "bob", and whichever is a member is mentioned.
func Mentions(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(u string) {
		if len(u) >= 3 && !seen[u] && len(seen) < MaxMentions*2 {
			seen[u] = true
			out = append(out, u)
		}
	}
	for i := 0; i < len(text) && len(out) < MaxMentions*2; i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 && (isUsernameByte(text[i-1]) || text[i-1] == '@') {
			continue
		}
		j := i + 1
		for j < len(text) && j-i-1 < 32 && isUsernameByte(text[j]) {
			j++
		}
		name := strings.ToLower(text[i+1 : j])
		if name == "" || !isAlnum(name[0]) {
			continue
		}
		add(name)
		if trimmed := strings.TrimRight(name, ".-_"); trimmed != name {
			add(trimmed)
		}
		i = j - 1
	}
	return out
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// isUsernameByte reports whether c may be in a username, in either case.
func isUsernameByte(c byte) bool {
	return isAlnum(c) || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_'
}

// UserMessage is one message of a user's own live stream (the WebSocket's
// user stream; see docs/protocol.md): a board of theirs that changed, or a
// notification. Data is the kind's payload.
type UserMessage struct {
	User  string          `json:"user"`
	Kind  string          `json:"kind"`
	Board string          `json:"board,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Kinds of user message.
const (
	UserBoardAdded    = "board.added"   // shared with the user (or created by them); data {id, name, role}
	UserBoardUpdated  = "board.updated" // renamed, or the user's role changed; data {id, name}
	UserBoardRemoved  = "board.removed" // the user was removed from it; data {id}
	UserBoardDeleted  = "board.deleted" // data {id}
	UserNotification  = "notification"  // data: a Notification
	UserNotifications = "notifications.read"
)

// UserSink receives the user messages derived from the log, after the
// transaction that derived them committed: the live stream is one (the hub
// and the bus); an e-mail sender would be another (see docs/api.md,
// "Notifications"). Deliver must not block for long: it runs on the
// deriving worker's goroutine. A message lost by a sink is not derived
// again: a sink that must not lose any (e-mail) keeps its own cursor over
// the notifications table (ids increase) instead.
type UserSink interface {
	Deliver(ctx context.Context, msgs []UserMessage)
}
