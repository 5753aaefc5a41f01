"""Trajectories to datasets to LoRA/QLoRA models, measured in the twin (later issue)."""
