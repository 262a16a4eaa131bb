# A target above 99.99% needs a full 28 days of data (revise down until it fits).
package slo.guardrails

import rego.v1

high_target := 0.9999

long_history_days := 28

violation contains v if {
	input.target > high_target - 1e-12
	input.history_days < long_history_days
	v := {
		"rule": "evidence",
		"action": "revise",
		"message": sprintf("evidence: a target of %s needs %d days of data, %s given", [input.text.target, long_history_days, input.text.history_days]),
	}
}
