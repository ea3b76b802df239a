// Package e2e holds Corkboard's browser tests: real Chromium (Debian's
// /usr/bin/chromium), driven by playwright-core from web/node_modules,
// against two server instances started as processes that share one
// PostgreSQL database and one NATS cluster. The test in e2e_test.go starts
// everything and runs each browser scenario (scenarios/*.mjs, through
// browser.mjs) as a subtest.
package e2e
