package placement

import "github.com/nimbus-cloud/nimbus/internal/osnames"

// StandardResourceClasses and StandardTraits are the names placement creates
// at start: a standard class's id is its index in StandardResourceClasses.
var (
	StandardResourceClasses = osnames.ResourceClasses
	StandardTraits          = osnames.Traits
)
