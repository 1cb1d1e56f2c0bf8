// Package static holds Switchboard's browser files, embedded in the binary:
// the agent softphone (softphone/, served at /softphone/), the demo page that
// plays a Salesforce org around it (demo/, index.html at / and the rest at
// /demo/), and the demo-mode stand-ins for Salesforce's Open CTI scripts
// (opencti/lightning.js and opencti/interaction.js, served at
// /support/api/{NN}.0/lightning/opencti_min.js and
// /support/api/{NN}.0/interaction.js). The files are plain ES modules and
// CSS with no build step.
package static

import "embed"

// FS is the embedded tree: softphone/, demo/ and opencti/ at its root.
//
//go:embed softphone demo opencti
var FS embed.FS
