"""The agents: each turns ports and numbers into a typed finding with evidence and a self-evaluation."""
