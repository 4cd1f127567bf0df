"""Python bag readers timed for `cargo bench -p embody-bag --bench bag`.

Usage: python bag_readers.py <bag dir> <mcap file> <mode>...
Modes: rosbags_raw, rosbags_decode, mcap_raw, mcap_decode.

Each mode is timed inside this process (interpreter start-up and imports excluded) from
opening the bag to the last message, and reported as one JSON object on stdout:
{"<mode>": {"seconds": s, "messages": n, "bytes": payload bytes}, ...}.
"""

import json
import sys
import time
from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader


def rosbags_raw(bag, _mcap):
    n = total = 0
    with AnyReader([Path(bag)]) as reader:
        for _conn, _t, raw in reader.messages():
            n += 1
            total += len(raw)
    return n, total


def rosbags_decode(bag, _mcap):
    n = total = 0
    with AnyReader([Path(bag)]) as reader:
        for conn, _t, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            n += 1
            total += len(raw)
            del msg
    return n, total


def mcap_raw(_bag, mcap):
    n = total = 0
    with open(mcap, "rb") as f:
        for _schema, _channel, message in make_reader(f).iter_messages():
            n += 1
            total += len(message.data)
    return n, total


def mcap_decode(_bag, mcap):
    n = total = 0
    with open(mcap, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, _channel, message, decoded in reader.iter_decoded_messages():
            n += 1
            total += len(message.data)
            del decoded
    return n, total


MODES = {
    "rosbags_raw": rosbags_raw,
    "rosbags_decode": rosbags_decode,
    "mcap_raw": mcap_raw,
    "mcap_decode": mcap_decode,
}


def main():
    bag, mcap, *modes = sys.argv[1:]
    out = {}
    for mode in modes:
        start = time.perf_counter()
        n, total = MODES[mode](bag, mcap)
        out[mode] = {
            "seconds": time.perf_counter() - start,
            "messages": n,
            "bytes": total,
        }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
