"""Use-case categories tagged on every training sample.

TSLAM-Mini was tuned on about 100k samples spread over 20 telecom/networking use cases. This taxonomy has
20 categories in that spirit (our own wording, not a copy of their list). The digital twin exercises the
first ten; the other ten (radio, 5G core, slicing, capacity, customer care, ...) need data the twin does
not produce, so they are listed for user-supplied datasets and reported as empty in generated cards.
"""

from __future__ import annotations

from collections.abc import Iterable

# (id, title, covered by the twin)
CATEGORIES: list[tuple[str, str, bool]] = [
    ("network_troubleshooting", "Network troubleshooting and fault diagnosis", True),
    ("routing_protocols", "Routing protocols (OSPF, BGP, static routing)", True),
    ("interface_link_management", "Interfaces and links", True),
    ("ip_addressing", "IP addressing and subnetting", True),
    ("access_control_security", "Access control lists and network security", True),
    ("configuration_change", "Configuration changes from an intent", True),
    ("change_safety_rollback", "Change safety: dry-run, approval, verification, rollback", True),
    ("policy_compliance", "Policy and compliance checks on changes", True),
    ("network_monitoring", "Monitoring and state inspection (show commands, reachability)", True),
    ("root_cause_analysis", "Root-cause analysis and reporting", True),
    ("performance_optimization", "Performance and QoS optimisation", False),
    ("capacity_planning", "Capacity planning and traffic forecasting", False),
    ("radio_access_network", "Radio access network (RAN) operations", False),
    ("core_network", "Mobile core network (4G EPC / 5G core)", False),
    ("network_slicing", "Network slicing and service orchestration", False),
    ("customer_support", "Customer support and care", False),
    ("regulatory_compliance", "Regulatory and standards compliance (3GPP, ETSI, IETF)", False),
    ("anomaly_detection", "Anomaly detection and fault prediction from telemetry", False),
    ("automation_scripting", "Automation scripts and API integration", False),
    ("standards_knowledge", "Standards and protocol knowledge (Q&A)", False),
]
CATEGORY_IDS = [c[0] for c in CATEGORIES]
COVERED = [c[0] for c in CATEGORIES if c[2]]
NOT_COVERED = [c[0] for c in CATEGORIES if not c[2]]

# Fault kinds / family prefixes -> category (the twin's fault catalogue).
_FAMILY_PREFIXES: list[tuple[tuple[str, ...], str]] = [
    (("acl_",), "access_control_security"),
    (("ospf_", "bgp_", "static_route", "default_route"), "routing_protocols"),
    (("link_down", "interface_"), "interface_link_management"),
    (("wrong_ip", "wrong_subnet", "duplicate_address", "addressing"), "ip_addressing"),
    (("policy", "unsafe", "denied"), "policy_compliance"),
    (("rollback",), "change_safety_rollback"),
]
_KEYWORDS: list[tuple[tuple[str, ...], str]] = [
    (("access list", "access-list", " acl", "firewall"), "access_control_security"),
    (("ospf", "bgp", "static route", "default route", "routing"), "routing_protocols"),
    (("subnet", "ip address", "netmask", "duplicate address"), "ip_addressing"),
    (("shutdown", "interface", " link "), "interface_link_management"),
]
_MONITORING = ("ping", "traceroute", "reachab", "status", "show ", "check ")


def categorize(*, kind: str | None = None, family: str | None = None, prompt: str = "",
               tool_names: Iterable[str] = ()) -> str:
    """One category for a sample, from the task family (fault kind), its kind and its prompt.

    A known family decides (it is ground truth from the scenario generator); otherwise keywords of the
    prompt; otherwise the task kind (diagnosis -> troubleshooting, change -> configuration change); a
    read-only run that only looked at state -> monitoring.
    """
    fam = (family or "").lower()
    if fam in CATEGORY_IDS:
        return fam
    for prefixes, category in _FAMILY_PREFIXES:
        if fam and any(fam.startswith(p) or p in fam for p in prefixes):
            return category
    text = f" {prompt.lower()} "
    for words, category in _KEYWORDS:
        if any(w in text for w in words):
            return category
    if kind == "diagnosis":
        return "network_troubleshooting"
    if kind == "change":
        return "configuration_change"
    writes = {"apply_change", "dry_run", "rollback"}
    if any(w in text for w in _MONITORING) and not set(tool_names) & writes:
        return "network_monitoring"
    return "network_troubleshooting"
