package profile

// Seams for the external tests.
var (
	IntersectGeneral = intersectGeneral
	UnchangedBy      = unchangedBy
)
