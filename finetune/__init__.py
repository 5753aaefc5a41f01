"""Trajectories to datasets to LoRA/QLoRA models (and continual pre-training), measured in the twin.

Modules (nothing heavy is imported at package import):

* :mod:`finetune.dataset` — trajectory -> TRL rows (``trajectory_to_sft_row``, ``dpo_pair_row``), splits by
  seed, the dataset-folder layout, ``convert_trajectories`` (``twinops data convert``);
* :mod:`finetune.categories` — the 20 use-case categories tagged on every sample;
* :mod:`finetune.config` — the YAML training config (pydantic) and the shipped presets;
* :mod:`finetune.modeling` / :mod:`finetune.templates` — tiny from-scratch models and tokenizers, local
  models, 4-bit NF4, LoRA targets per architecture, chat templates with ``{% generation %}`` markers;
* :mod:`finetune.sft`, :mod:`finetune.dpo`, :mod:`finetune.cpt` — one trainer per method (TRL / HF);
* :mod:`finetune.runner` — ``run_finetune(config)``: stages, chaining, outputs; :mod:`finetune.report` —
  figures, loss plot, model card; :mod:`finetune.cli` — ``twinops finetune`` and ``twinops data``.
"""
