# No tightening by more than one step of the standard target ladder (data.slo.ladder) at once.
package slo.guardrails

import rego.v1

tolerance := 1e-12

# Rungs tighter than the approved target's rung, up to and including the proposed target's rung.
steps_tightened := count([r |
	some r in data.slo.ladder
	r > rung(input.approved_target) + tolerance
	r <= input.target + tolerance
])

# The rung a value reads at: the largest rung at or below it (0 below the ladder).
rung(value) := max({r | some r in array.concat([0], data.slo.ladder); r <= value + tolerance})

violation contains v if {
	input.approved_target != null
	steps_tightened > 1
	v := {
		"rule": "change",
		"action": "hold",
		"message": sprintf("change: tightening from the approved %s to %s is more than one step", [input.text.approved_target, input.text.target]),
	}
}
