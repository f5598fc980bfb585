package app

import "maps"

// OfferedImageAttrs are the attributes of the image a new cloud offers.
func OfferedImageAttrs() map[string]any { return maps.Clone(testImageAttrs) }
