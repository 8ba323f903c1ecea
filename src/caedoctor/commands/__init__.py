"""Click commands, one module per command family; registered in caedoctor.cli."""
