package newsletter

import "flag"

// update rewrites the golden files (testdata/**/*.json, the hand-made
// Word document) instead of comparing with them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")
