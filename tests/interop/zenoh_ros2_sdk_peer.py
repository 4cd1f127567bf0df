"""The Python side of tests/zenoh_ros2_sdk_interop.rs: a ROS 2 peer built on the
`zenoh-ros2-sdk` package (an rmw_zenoh implementation nobody here wrote).

    zenoh_ros2_sdk_peer.py MODE PORT DOMAIN JSON

MODE is one of
  talker    publish JSON's String and Twist until stdin closes
  listener  print "ready", then one JSON line with the first String and Twist heard
  server    serve AddTwoInts, print "ready"; when stdin closes print "handled N"
  client    wait for an AddTwoInts server, call it with JSON's requests, print the sums
  discover  wait until the SDK's discovery API lists JSON's topics, services and nodes
            (with at least the given number of endpoints each), print what it lists

Doubles travel as their IEEE-754 bit patterns (u64) so both sides compare them exactly.

Network: the session connects to the test's router at tcp/127.0.0.1:PORT only, listens on
tcp/127.0.0.1:0 only, multicast scouting off (set explicitly below, then read back). Message
definitions come from this repository's msgs/interfaces, never from GitHub: see
`forbid_network_fetches`.
"""
import json
import os
import struct
import sys
import threading
import time
from pathlib import Path

MSGS_DIR = Path(__file__).resolve().parents[2] / "msgs" / "interfaces"
DEADLINE_S = 60.0


def fail(why):
    print(f"zenoh_ros2_sdk_peer: {why}", file=sys.stderr, flush=True)
    os._exit(3)


def forbid_network_fetches():
    """The SDK clones ros2/common_interfaces & co. from GitHub for any type it cannot find
    in its messages directory. Three independent guards keep it offline:
    1. the global registry is created first, on this repository's msgs/interfaces (same
       <pkg>/msg|srv/<Name> layout the SDK expects), so every message type the tests use is
       found locally, and services get their definitions as text (add_two_ints_definitions):
       the SDK never gets as far as its git code;
    2. should it still try, its clone entry points (and GitPython's Repo.clone_from) are
       replaced by a function that kills the process with exit code 97: the test fails
       loudly instead of the SDK swallowing the error into a warning;
    3. the test runs us with GIT_ALLOW_PROTOCOL=file (git itself then refuses https, ssh
       and git: "fatal: transport 'https' not allowed") and ZENOH_ROS2_SDK_CACHE pointing at
       a path it checks was never created.
    """
    import git
    from zenoh_ros2_sdk import _cache, message_registry

    def refuse(*args, **kwargs):
        print(f"zenoh_ros2_sdk_peer: the SDK tried to fetch from the network: {args!r}",
              file=sys.stderr, flush=True)
        os._exit(97)

    _cache.clone_to_cache = refuse
    message_registry.clone_to_cache = refuse
    git.Repo.clone_from = refuse
    registry = message_registry.get_registry(str(MSGS_DIR))
    if registry.messages_dir != MSGS_DIR:
        fail(f"the SDK registry reads {registry.messages_dir}, not {MSGS_DIR}")


def open_session(port):
    """The SDK's shared session, configured for the test router on loopback only."""
    os.environ.pop("ZENOH_SESSION_CONFIG_URI", None)  # use the SDK's bundled rmw_zenoh config
    os.environ["ZENOH_CONFIG_OVERRIDE"] = ";".join([
        'mode="peer"',
        f'connect/endpoints=["tcp/127.0.0.1:{port}"]',
        'listen/endpoints=["tcp/127.0.0.1:0"]',
        "scouting/multicast/enabled=false",
    ])
    from zenoh_ros2_sdk import ZenohSession

    session = ZenohSession.get_instance("127.0.0.1", port)
    wanted = {
        "mode": '"peer"',
        "connect/endpoints": f'["tcp/127.0.0.1:{port}"]',
        "listen/endpoints": '["tcp/127.0.0.1:0"]',
        "scouting/multicast/enabled": "false",
    }
    for key, value in wanted.items():
        got = session.conf.get_json(key).replace(" ", "")
        if got != value:
            fail(f"zenoh config {key} is {got}, expected {value}")
    return session


def to_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def twist_bits(msg):
    return [to_bits(v) for v in (msg.linear.x, msg.linear.y, msg.linear.z,
                                 msg.angular.x, msg.angular.y, msg.angular.z)]


def stdin_closed_event():
    """An event set when the test closes our stdin (its way of saying "done")."""
    done = threading.Event()

    def watch():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    return done


def add_two_ints_definitions():
    """Request and response text of AddTwoInts, handed to the SDK's service classes.

    Given only the type name, the SDK first probes for a message file named
    example_interfaces/srv/AddTwoInts_Request.msg, which no package has, and goes to clone
    ros2/example_interfaces from GitHub for it even though the .srv file is local. With the
    definitions passed in it never looks anything up (it splits the .srv file the same way)."""
    text = (MSGS_DIR / "example_interfaces" / "srv" / "AddTwoInts.srv").read_text()
    request, response = text.split("---", 1)
    return {"request_definition": request.strip(), "response_definition": response.strip()}


def talker(port, domain, spec):
    from zenoh_ros2_sdk import ROS2Publisher, get_message_class

    open_session(port)
    text = ROS2Publisher(spec["string_topic"], "std_msgs/msg/String",
                         node_name="sdk_talker", domain_id=domain)
    twist = ROS2Publisher(spec["twist_topic"], "geometry_msgs/msg/Twist",
                          node_name="sdk_talker", domain_id=domain)
    vector3 = get_message_class("geometry_msgs/msg/Vector3")
    v = [from_bits(b) for b in spec["twist_bits"]]
    linear, angular = vector3(x=v[0], y=v[1], z=v[2]), vector3(x=v[3], y=v[4], z=v[5])
    done = stdin_closed_event()
    print("ready", flush=True)
    # The SDK cannot tell whether anyone listens, so publish until the test has heard both
    # (it closes stdin then); the wait only paces the loop.
    end = time.monotonic() + DEADLINE_S
    while not done.wait(0.02):
        if time.monotonic() > end:
            fail("the test never said it heard us")
        text.publish(data=spec["text"])
        twist.publish(linear=linear, angular=angular)
    text.close()
    twist.close()


def listener(port, domain, spec):
    from zenoh_ros2_sdk import ROS2Subscriber

    open_session(port)
    got = {}
    lock = threading.Lock()
    both = threading.Event()

    def keep(field, value):
        with lock:
            got.setdefault(field, value)
            if len(got) == 2:
                both.set()

    subs = [
        ROS2Subscriber(spec["string_topic"], "std_msgs/msg/String",
                       lambda m: keep("string", m.data), node_name="sdk_listener",
                       domain_id=domain),
        ROS2Subscriber(spec["twist_topic"], "geometry_msgs/msg/Twist",
                       lambda m: keep("twist_bits", twist_bits(m)), node_name="sdk_listener",
                       domain_id=domain),
    ]
    print("ready", flush=True)
    if not both.wait(DEADLINE_S):
        fail(f"heard only {sorted(got)}")
    with lock:
        print(json.dumps(got), flush=True)
    for s in subs:
        s.close()


def server(port, domain, spec):
    from zenoh_ros2_sdk import ROS2ServiceServer

    open_session(port)
    handled = []
    holder = {}

    def add(req):
        handled.append((req.a, req.b))
        return holder["server"].response_msg_class(sum=req.a + req.b)

    holder["server"] = ROS2ServiceServer(spec["service"], "example_interfaces/srv/AddTwoInts",
                                         callback=add, node_name="sdk_adder", domain_id=domain,
                                         **add_two_ints_definitions())
    done = stdin_closed_event()
    print("ready", flush=True)
    if not done.wait(DEADLINE_S):
        fail("the test never closed stdin")
    holder["server"].close()
    print(f"handled {len(handled)}", flush=True)


def client(port, domain, spec):
    from zenoh_ros2_sdk import ROS2ServiceClient, get_service_info

    open_session(port)
    cli = ROS2ServiceClient(spec["service"], "example_interfaces/srv/AddTwoInts",
                            node_name="sdk_caller", domain_id=domain, timeout=10.0,
                            **add_two_ints_definitions())
    end = time.monotonic() + DEADLINE_S
    # Wait for the server through the SDK's own discovery (one-shot liveliness queries,
    # which can miss tokens just after start-up: poll).
    while True:
        info = get_service_info(spec["service"], domain_id=domain, router_port=port)
        if info is not None and info.server_count >= 1:
            break
        if time.monotonic() > end:
            fail(f"no server for {spec['service']} in the SDK's graph")
        time.sleep(0.01)  # pacing of the poll only
    sums = []
    for i, (a, b) in enumerate(spec["requests"]):
        resp = cli.call(a=a, b=b)
        # The token can reach us a moment before the queryable: retry the first call only.
        while resp is None and i == 0 and time.monotonic() < end:
            resp = cli.call(a=a, b=b)
        if resp is None:
            fail(f"no response to {a} + {b}")
        sums.append(int(resp.sum))
    print(json.dumps({"sums": sums}), flush=True)
    cli.close()


def discover(port, domain, spec):
    from zenoh_ros2_sdk import (get_service_info, get_service_names_and_types,
                                get_topic_info, get_topic_names_and_types)
    from zenoh_ros2_sdk.utils import demangle_name_optional_leading_slash

    session = open_session(port)

    def endpoints(items):
        return [{"node_name": e.node_name, "node_namespace": e.node_namespace,
                 "type": getattr(e, "topic_type", None) or getattr(e, "service_type", None),
                 "type_hash": e.type_hash, "qos": e.qos} for e in items]

    def snapshot():
        topics = get_topic_names_and_types(domain_id=domain, router_port=port)
        services = get_service_names_and_types(domain_id=domain, router_port=port)
        topic_info, service_info = {}, {}
        for name in spec["topics"]:
            info = get_topic_info(name, domain_id=domain, router_port=port, verbose=True)
            if info is not None:
                topic_info[name] = {"types": info.topic_types,
                                    "publishers": endpoints(info.publishers),
                                    "subscribers": endpoints(info.subscribers)}
        for name in spec["services"]:
            info = get_service_info(name, domain_id=domain, router_port=port, verbose=True)
            if info is not None:
                service_info[name] = {"types": info.service_types,
                                      "servers": endpoints(info.servers),
                                      "clients": endpoints(info.clients)}
        # The SDK has no node list: read node (NN) tokens through its session, split as its
        # discovery module splits endpoint tokens (enclave, namespace, name at 6, 7, 8).
        nodes = []
        for reply in session.liveliness.get(f"@ros2_lv/{domain}/*/*/*/NN/**", timeout=2.0):
            if reply.ok is not None:
                parts = str(reply.ok.key_expr).split("/")
                nodes.append([demangle_name_optional_leading_slash(parts[7]),
                              demangle_name_optional_leading_slash(parts[8])])
        return {"topics": topics, "services": services, "topic_info": topic_info,
                "service_info": service_info, "nodes": sorted(nodes)}

    def complete(s):
        def count(info, a, b):
            return len(info[a]) + len(info[b]) if info else 0
        topics = {name for name, _ in s["topics"]}
        services = {name for name, _ in s["services"]}
        return (all(count(s["topic_info"].get(t), "publishers", "subscribers") >= n
                    and t in topics for t, n in spec["topics"].items())
                and all(count(s["service_info"].get(v), "servers", "clients") >= n
                        and v in services for v, n in spec["services"].items())
                and all(node in s["nodes"] for node in spec["nodes"]))

    # A one-shot liveliness query made while this peer's gossip-driven direct link to the
    # other peer is still coming up returns only part of the graph (seen with zenoh 1.10),
    # so poll until one snapshot shows everything expected, each part of it.
    end = time.monotonic() + DEADLINE_S
    snap = snapshot()
    while not complete(snap):
        if time.monotonic() > end:
            fail(f"the SDK's graph never showed everything: {json.dumps(snap)}")
        time.sleep(0.01)  # pacing of the poll only
        snap = snapshot()
    print(json.dumps(snap), flush=True)


MODES = {"talker": talker, "listener": listener, "server": server, "client": client,
         "discover": discover}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in MODES:
        fail(f"usage: {sys.argv[0]} {{{'|'.join(MODES)}}} PORT DOMAIN JSON")
    forbid_network_fetches()
    MODES[sys.argv[1]](int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]))
    sys.stdout.flush()
    # zenoh-python's background threads can keep a finished interpreter alive; we are done.
    os._exit(0)


if __name__ == "__main__":
    main()
