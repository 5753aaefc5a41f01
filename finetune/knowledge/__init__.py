"""Knowledge evaluation: multiple choice (TeleQnA shape), judged open Q&A, and classification sets.

Agent fine-tuning is measured in the twin; what a model *knows* about telecom and networking (the thing
continual pre-training is meant to improve) is measured here, the way TelecomGPT and TSLAM-Mini report it:
accuracy per category with confidence intervals, LLM-judge scores under a fixed rubric, confusion matrices,
base and adapter side by side. ``twinops eval-knowledge`` is the entry point (:mod:`.cli`).
"""
