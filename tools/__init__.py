"""Device tools: inventory, NAPALM/Netmiko read tools, transactional changes and dry-run (later issue)."""
