// Package migrations holds Corkboard's database schema as numbered SQL files,
// embedded in the server binary. store.Migrate applies them in order.
package migrations

import "embed"

// FS holds the migration files, named NNNN_name.sql.
//
//go:embed *.sql
var FS embed.FS
