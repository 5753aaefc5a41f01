"""The lab under load and abuse: concurrent Netmiko sessions, garbage typed fast, clients killed
mid-command.  The server must keep serving every other session."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncssh
import pytest
from lab_support import served_lab
from netmiko import ConnectHandler

from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import load_preset

USER, PASSWORD, SECRET = "ops", "robust-pw", "robust-en"
pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")


@pytest.fixture
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        yield running


def netmiko(port: int) -> ConnectHandler:
    return ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=port, username=USER, password=PASSWORD,
                          secret=SECRET)


def assert_serving(lab: LabThread, device: str) -> None:
    with netmiko(lab.server.ports[device]) as conn:
        assert conn.find_prompt() == f"{device}#"
        assert f"{device} uptime is" in conn.send_command("show version")


# --- 100 concurrent Netmiko sessions ----------------------------------------------------------------

@pytest.mark.slow
def test_hundred_concurrent_netmiko_sessions() -> None:
    network = Network(load_preset("gen-100"))
    server = LabServer(network, credentials=Credentials(USER, PASSWORD, SECRET))
    names = network.device_names()[:100]
    assert len(names) == 100

    def session(name: str) -> tuple[str, str, str]:
        with netmiko(server.ports[name]) as conn:
            prompt = conn.find_prompt()
            brief = conn.send_command("show ip interface brief", expect_string=r"#")
            return name, prompt, brief

    with LabThread(server), ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(session, names))
    assert len(results) == 100
    for name, prompt, brief in results:
        assert prompt == f"{network.config(name).hostname}#"
        assert brief.startswith("Interface") and "Loopback0" in brief


# --- 10,000 random and malformed lines ---------------------------------------------------------------

TEMPLATES = [
    "show ip interface brief", "show interfaces Gi0/0", "show ip route", "show ip route 10.0.4.10",
    "show ip ospf neighbor", "show ip bgp summary", "show bgp all summary", "show lldp neighbors detail",
    "show arp", "show access-lists", "show running-config | section ospf", "show ip protocols", "ping 10.0.4.1",
    "traceroute 6.6.6.6", "configure terminal", "interface GigabitEthernet0/1", "shutdown", "no shutdown",
    "ip address 10.9.9.1 255.255.255.0", "router ospf 1", "network 10.9.9.0 0.0.0.255 area 0", "end",
    "router bgp 65001", "neighbor 9.9.9.9 remote-as 65009", "ip access-list extended FUZZ",
    "permit tcp any any eq 22", "deny ip any any log", "copy running-config flash:fz.txt", "dir flash:",
    "verify /md5 flash:fz.txt", "show archive config differences", "write memory", "show ip route ospf",
    "show interfaces summary", "show ip bgp 198.51.100.0/24", "show bgp ipv4 unicast neighbors 10.0.25.2",
    "do show ip int br", "ip route 10.99.0.0 255.255.0.0 10.0.12.2", "disable", "enable", "terminal length 0",
    "show version | include uptime", "show clock", "show hosts", "description fuzz", "sh ip int br", "conf t",
    "show ip route | begin Gateway", "show run | i ^interface", "delete flash:fz.txt", "copy null: flash:n.txt",
]
WORDS = ["show", "ip", "interface", "brief", "route", "bgp", "ospf", "|", "include", "section", "no", "0", "any",
         "10.0.12.0", "255.255.255.0", "Gi0/0", "Lo0", "%", "^", "(", "[", "*", "\\", "?", "\t", "\x7f", "\x08",
         "\x1b[A", "-1", "99999999999999999999", "1.2.3.4.5", "remote-as", "area", "end", "do"]
CLOSERS = ("exit", "logout", "quit")  # closing the session is not a crash; the fuzzer avoids it
LINE_BREAKS = "\r\n\x03\x1a"


def _garbage(rng: random.Random, length: int, top: int) -> str:
    return "".join(c for c in (chr(rng.randint(0, top)) for _ in range(length)) if c not in LINE_BREAKS)


def fuzz_lines(rng: random.Random, count: int) -> list[bytes]:
    lines: list[bytes] = []
    while len(lines) < count:
        roll = rng.random()
        if roll < 0.5:
            words = rng.choice(TEMPLATES).split()
            op = rng.random()
            if op < 0.2 and words:
                words = words[: rng.randint(0, len(words))]
            elif op < 0.4 and words:
                i = rng.randrange(len(words))
                words[i] = words[i][: rng.randint(1, len(words[i]))]
            elif op < 0.6:
                words.insert(rng.randint(0, len(words)), rng.choice(WORDS))
            elif op < 0.7:
                rng.shuffle(words)
            text = " ".join(words)
            if rng.random() < 0.2:
                cut = rng.randint(0, len(text))
                text = text[:cut] + _garbage(rng, rng.randint(1, 6), 255) + text[cut:]
        elif roll < 0.7:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
        elif roll < 0.85:
            text = _garbage(rng, rng.randint(0, 120), 126)
        elif roll < 0.95:
            text = _garbage(rng, rng.randint(0, 60), 0x2FF)
        else:
            text = "A" * rng.randint(500, 5000)  # very long lines
        first = text.split()[0].lower() if text.split() else ""
        if first and any(word.startswith(first) for word in CLOSERS):
            continue
        raw = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.05:
            raw += bytes([0xFF, 0xFE, 0x00])  # invalid UTF-8 and a NUL
        lines.append(raw + rng.choice([b"\r", b"\n", b"\r\n"]))
    return lines


async def _fuzz_session(port: int, lines: list[bytes], marker: str) -> bytes:
    """Type ``lines`` fast into one shell, then prove the session still answers (marker echoed)."""
    async with asyncssh.connect("127.0.0.1", port=port, username=USER, password=PASSWORD, known_hosts=None,
                                client_keys=None, preferred_auth="password") as conn:
        process = await conn.create_process(term_type="vt100", encoding=None)
        received = bytearray()

        async def drain() -> None:
            while True:
                chunk = await process.stdout.read(65536)
                if not chunk:
                    return
                received.extend(chunk)

        reader = asyncio.create_task(drain())
        for start in range(0, len(lines), 50):
            process.stdin.write(b"".join(lines[start:start + 50]))
            await process.stdin.drain()
        # Answer whatever question may be pending, leave config mode, then the marker (echoed when processed).
        process.stdin.write(b"\n\n\n\n\n\x1a\nend\n" + f"{marker}\n{marker}\n{marker}\n".encode())
        deadline = time.monotonic() + 60
        while marker.encode() not in received and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        process.stdin.write(b"exit\n")
        try:
            await asyncio.wait_for(reader, 10)
        except TimeoutError:
            reader.cancel()
        return bytes(received)


def test_ten_thousand_malformed_lines_never_crash_or_stall(lab: LabThread) -> None:
    rng = random.Random(20240604)
    devices = ["R1", "R2", "R3", "R4"]
    per_session = 2500
    batches = {name: fuzz_lines(rng, per_session) for name in devices}
    assert sum(len(b) for b in batches.values()) == 10_000

    async def run_all() -> list[bytes]:
        return await asyncio.gather(*(_fuzz_session(lab.server.ports[name], batches[name], f"zz-marker-{name}")
                                      for name in devices))

    outputs = asyncio.run(run_all())
    for name, output in zip(devices, outputs, strict=True):
        assert f"zz-marker-{name}".encode() in output, f"{name}: session stalled"
        assert b"% Internal error" not in output, f"{name}: a command raised inside the emulator"
        assert b"% Invalid input detected at '^' marker." in output
    # The server is alive and serves fresh sessions: an untouched device, and the fuzzed ones over exec.
    assert_serving(lab, "R5")

    async def exec_clock(port: int) -> str:
        async with asyncssh.connect("127.0.0.1", port=port, username=USER, password=PASSWORD, known_hosts=None,
                                    client_keys=None, preferred_auth="password") as conn:
            result = await conn.run("show clock", check=False)
            return str(result.stdout)

    for name in devices:
        assert "UTC" in asyncio.run(exec_clock(lab.server.ports[name]))


# --- clients dying mid-command -----------------------------------------------------------------------

CLIENT = textwrap.dedent("""
    import sys, time, paramiko
    port, user, password, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=port, username=user, password=password, look_for_keys=False, allow_agent=False)
    transport = client.get_transport()
    if mode == "scp":
        chan = transport.open_session()
        chan.exec_command("scp -t flash:/big.txt")
        chan.recv(1)
        chan.sendall(b"C0644 10000000 big.txt\\n")
        chan.recv(1)
        chan.sendall(b"x" * 65536)  # then die with most of the file still to come
    else:
        chan = client.invoke_shell()
        chan.send("terminal length 0\\n" + "show running-config\\nshow interfaces\\nshow ip bgp neighbors\\n" * 50)
        chan.recv(1024)
    print("busy", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("mode", ["shell", "scp"])
def test_client_killed_mid_command_leaves_server_serving(lab: LabThread, mode: str) -> None:
    device = "R2"
    process = subprocess.Popen([sys.executable, "-c", CLIENT, str(lab.server.ports[device]), USER, PASSWORD, mode],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "busy"
        assert lab.server._connections
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    deadline = time.time() + 10
    while lab.server._connections and time.time() < deadline:
        time.sleep(0.05)
    assert not lab.server._connections  # the dead client's session was cleaned up
    assert_serving(lab, device)
    assert not lab.call(lambda: lab.server.lab.device(device).flash.exists("big.txt"))  # no half-written file
