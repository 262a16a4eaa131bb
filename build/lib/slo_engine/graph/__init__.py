"""The dependency graph stage: loading the graph file, structural analyses and the availability ceiling.

Modules: ``loader`` (graph file, observed edges), ``analysis`` (networkx: cycles, fan-in/out, blast radius,
critical paths, the ``graph analyze`` report) and ``ceiling`` (the dependency availability ceiling).
"""
