package store

// MigrateTo applies the migrations up to version last (for tests of a
// migration on a database filled at an earlier version).
var MigrateTo = migrateTo
