// Package examples embeds the sample issues in this folder, so that
// `wxbot serve` with no configuration has an archive to chat about and tests
// have issues of several shapes. The files are ordinary issues in the
// editors' Markdown export format. Their news items paraphrase public
// announcements of the time for illustration; they are not legal advice.
package examples

import "embed"

// FS holds the example issues (*.md).
//
//go:embed *.md
var FS embed.FS
