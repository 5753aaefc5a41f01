"""The expert brain's policy: a deterministic subject-matter expert over read-tool outputs.

Task convention (the graphs follow it): the first ``HumanMessage`` of a run starts with

* ``CHANGE: <operator intent>``   -> observe, then ``propose_change`` (or ``refuse``);
* ``DIAGNOSE: <symptom>``         -> observe, then ``report_diagnosis`` (or ``refuse``).

A message without a prefix is read as a change intent unless it looks like a symptom.  The expert sees
only the conversation: the task text and the ``ToolMessage`` results of the read tools it called - never
the twin's ground truth.  Modules: ``state`` (replay the conversation), ``observe`` (what to read next),
``model`` (observations -> a simulator ``Network`` as the expert's mental model), ``symptom`` (parse the
operator's symptom), ``diagnose`` (rules -> candidate root causes, checked by what-if in the model),
``intents`` and ``plan`` (change intents -> config lines and read-back checks).
"""

from agent.expert.policy import next_action

__all__ = ["next_action"]
