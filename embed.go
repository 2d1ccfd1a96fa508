// Package closesync holds the files embedded into the binary from the module
// root: go:embed cannot reach a parent directory, so the SQL lives here.
package closesync

import "embed"

// SQL holds the numbered migrations of the sync schema (sql/*.sql), applied in
// name order by pkg/load.
//
//go:embed sql/*.sql
var SQL embed.FS
