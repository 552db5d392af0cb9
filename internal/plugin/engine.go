package plugin

import "github.com/nri-seccomp/nri-seccomp/internal/engine"

// The engine's types, under the names the plugin uses. Aliases, so that
// *engine.Engine is a Decider and no conversion happens between the two.
type (
	// ProfileType is the seccomp profile type the runtime reports.
	ProfileType = engine.ProfileType
	// Input is what a decision depends on.
	Input = engine.Input
	// RuleResult is one rule's part in a decision.
	RuleResult = engine.RuleResult
	// Decision is the engine's answer; shared and read-only.
	Decision = engine.Decision
)

// Profile types.
const (
	ProfileTypeNone           = engine.ProfileTypeNone
	ProfileTypeUnconfined     = engine.ProfileTypeUnconfined
	ProfileTypeRuntimeDefault = engine.ProfileTypeRuntimeDefault
	ProfileTypeLocalhost      = engine.ProfileTypeLocalhost
)

var _ Decider = (*engine.Engine)(nil)
