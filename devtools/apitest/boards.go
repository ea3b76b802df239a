package apitest

import (
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// NewBoard creates a board and returns it.
func (c *Client) NewBoard(name string) board.Board {
	c.T.Helper()
	return Must[board.Board](c.T, c.Do("POST", "/api/boards", board.BoardInput{Name: name}), http.StatusCreated)
}

// NewColumn creates a column at the end of a board.
func (c *Client) NewColumn(boardID, name string) board.Column {
	c.T.Helper()
	return Must[board.Column](c.T, c.Do("POST", "/api/boards/"+boardID+"/columns", map[string]any{"name": name}), http.StatusCreated)
}

// NewCard creates a card at the end of a column.
func (c *Client) NewCard(boardID, colID, title string) board.Card {
	c.T.Helper()
	return Must[board.Card](c.T, c.Do("POST", "/api/boards/"+boardID+"/cards",
		map[string]any{"column_id": colID, "title": title}), http.StatusCreated)
}

// Snapshot reads a board.
func (c *Client) Snapshot(boardID string) board.Snapshot {
	c.T.Helper()
	return Must[board.Snapshot](c.T, c.Do("GET", "/api/boards/"+boardID, nil), http.StatusOK)
}

// AddMember makes a user a member of a board with role, through the API
// (c is an owner of the board).
func (c *Client) AddMember(boardID, username, role string) {
	c.T.Helper()
	c.MustOK("POST", "/api/boards/"+boardID+"/members", map[string]string{"username": username, "role": role}, nil)
}
