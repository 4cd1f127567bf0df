"""Reads a bag embody-bag wrote, with Python `rosbags` and with `mcap` + `mcap_ros2`, and prints
what each saw; the Rust test compares it with what it wrote.

stdin:  {"path": bag directory}
stdout: {"rosbags": {...}, "mcap": [per storage file {...}], "jazzy_hashes": {type: RIHS01}}
"""
import json
import sys
from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Reader
from rosbags.rosbag2.metadata import parse_qos
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).parent))
from common import qos_to_dict, to_json  # noqa: E402


def read_rosbags(path):
    out = {}
    with Reader(path) as r:
        out['message_count'] = r.message_count
        out['duration'] = r.duration
        out['start_time'] = r.start_time
        out['end_time'] = r.end_time
        out['ros_distro'] = r.ros_distro
    with AnyReader([path]) as r:
        out['connections'] = [{
            'topic': c.topic, 'msgtype': c.msgtype, 'msgcount': c.msgcount,
            'digest': c.digest,
            'qos': [qos_to_dict(q) for q in c.ext.offered_qos_profiles],
        } for c in r.connections]
        out['messages'] = [{
            'topic': c.topic, 'timestamp': t,
            'value': to_json(r.deserialize(raw, c.msgtype)),
        } for c, t, raw in r.messages()]
    return out


def read_mcap(file):
    out = {'file': file.name}
    with file.open('rb') as f:
        r = make_reader(f, decoder_factories=[DecoderFactory()])
        h = r.get_header()
        out['profile'] = h.profile
        out['library'] = h.library
        s = r.get_summary()
        out['statistics_message_count'] = s.statistics.message_count
        out['chunk_count'] = s.statistics.chunk_count
        out['chunk_compression'] = sorted({c.compression for c in s.chunk_indexes})
        out['schemas'] = {}
        for sch in s.schemas.values():
            text = sch.data.decode()
            # Parseable by an independent parser, and it defines the type itself.
            types = get_types_from_msg(text, sch.name)
            out['schemas'][sch.name] = {'encoding': sch.encoding, 'text': text,
                                        'parsed_types': sorted(types)}
        out['channels'] = {}
        for ch in s.channels.values():
            md = dict(ch.metadata)
            out['channels'][ch.topic] = {
                'message_encoding': ch.message_encoding,
                'schema': s.schemas[ch.schema_id].name,
                'metadata_keys': sorted(md),
                'qos': [qos_to_dict(q) for q in parse_qos(md.get('offered_qos_profiles', ''))],
                'topic_type_hash': md.get('topic_type_hash'),
            }
        out['messages'] = [{
            'topic': ch.topic, 'log_time': m.log_time, 'publish_time': m.publish_time,
            'value': to_json(ros),
        } for _, ch, m, ros in r.iter_decoded_messages(log_time_order=True)]
        out['metadata'] = {}
        for rec in r.iter_metadata():
            out['metadata'][rec.name] = dict(rec.metadata)
    return out


def main():
    req = json.load(sys.stdin)
    path = Path(req['path'])
    meta = YAML(typ='safe').load((path / 'metadata.yaml').read_text())
    files = meta['rosbag2_bagfile_information']['relative_file_paths']
    ts = get_typestore(Stores.ROS2_JAZZY)
    out = {
        'metadata_version': meta['rosbag2_bagfile_information']['version'],
        'metadata_files': [{'path': f['path'], 'message_count': f['message_count']}
                           for f in meta['rosbag2_bagfile_information']['files']],
        'rosbags': read_rosbags(path),
        'mcap': [read_mcap(path / f) for f in files],
    }
    types = {c['msgtype'] for c in out['rosbags']['connections']}
    out['jazzy_hashes'] = {t: ts.hash_rihs01(t) for t in types}
    json.dump(out, sys.stdout)


main()
