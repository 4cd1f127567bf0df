"""Writes .mcap files with the plain `mcap` writer in the layouts rosbag2's presets and other
tools produce: unchunked (`fastwrite`), no summary, no chunk indexes, lz4 chunks.

stdin:  {"dir": output directory}
stdout: {"files": {variant: path}, "messages": [{"topic", "log_time", "publish_time",
         "sequence", "data"}], "qos": {topic: [qos dicts]}}
"""
import json
import struct
import sys
from pathlib import Path

from mcap.writer import CompressionType, IndexType, Writer

# rosbag2 Jazzy writes string enums, Humble integer enums; both appear in channel metadata.
QOS_JAZZY = """- history: keep_last
  depth: 1
  reliability: reliable
  durability: transient_local
  deadline:
    sec: 9223372036
    nsec: 854775807
  lifespan:
    sec: 9223372036
    nsec: 854775807
  liveliness: automatic
  liveliness_lease_duration:
    sec: 9223372036
    nsec: 854775807
  avoid_ros_namespace_conventions: false"""
QOS_HUMBLE = """- history: 1
  depth: 7
  reliability: 2
  durability: 2
  deadline:
    sec: 0
    nsec: 0
  lifespan:
    sec: 0
    nsec: 0
  liveliness: 1
  liveliness_lease_duration:
    sec: 0
    nsec: 0
  avoid_ros_namespace_conventions: false"""

INF = [9223372036, 854775807]
QOS = {
    '/latched': [{'history': 'keep_last', 'depth': 1, 'reliability': 'reliable',
                  'durability': 'transient_local', 'deadline': INF, 'lifespan': INF,
                  'liveliness': 'automatic', 'liveliness_lease_duration': INF}],
    '/humble': [{'history': 'keep_last', 'depth': 7, 'reliability': 'best_effort',
                 'durability': 'volatile', 'deadline': INF, 'lifespan': INF,
                 'liveliness': 'automatic', 'liveliness_lease_duration': INF}],
}

VARIANTS = {
    'chunked_lz4': dict(compression=CompressionType.LZ4, chunk_size=300),
    'unchunked': dict(use_chunking=False),
    'unchunked_bare': dict(use_chunking=False, use_statistics=False,
                           index_types=IndexType.NONE, repeat_channels=False,
                           repeat_schemas=False, use_summary_offsets=False),
    'chunked_no_index_no_stats': dict(chunk_size=300, index_types=IndexType.NONE,
                                      use_statistics=False),
    'chunked_no_index': dict(chunk_size=300, index_types=IndexType.NONE),
    'chunked_no_stats': dict(chunk_size=300, use_statistics=False),
    'no_crc': dict(chunk_size=300, compression=CompressionType.NONE, enable_crcs=False),
}


def cdr_string(s):
    b = s.encode() + b'\0'
    return b'\x00\x01\x00\x00' + struct.pack('<I', len(b)) + b


def main():
    req = json.load(sys.stdin)
    root = Path(req['dir'])
    msgs = []
    for i in range(60):
        topic = ['/latched', '/humble', '/plain'][i % 3]
        t = 5_000_000_000 + i * 1_000_000
        msgs.append({'topic': topic, 'log_time': t, 'publish_time': t - 7, 'sequence': i,
                     'data': cdr_string(f'{topic} {i}').hex()})
    files = {}
    for name, opts in VARIANTS.items():
        path = root / f'{name}.mcap'
        with path.open('wb') as f:
            w = Writer(f, **opts)
            w.start(profile='ros2', library='mcap-python-test')
            sid = w.register_schema('std_msgs/msg/String', 'ros2msg', b'string data')
            ids = {
                '/latched': w.register_channel('/latched', 'cdr', sid,
                                               {'offered_qos_profiles': QOS_JAZZY,
                                                'topic_type_hash': ''}),
                '/humble': w.register_channel('/humble', 'cdr', sid,
                                              {'offered_qos_profiles': QOS_HUMBLE}),
                '/plain': w.register_channel('/plain', 'cdr', sid, {}),
            }
            for m in msgs:
                w.add_message(ids[m['topic']], log_time=m['log_time'],
                              publish_time=m['publish_time'], sequence=m['sequence'],
                              data=bytes.fromhex(m['data']))
            w.add_metadata('rosbag2', {'ROS_DISTRO': 'jazzy'})
            w.finish()
        files[name] = str(path)
    json.dump({'files': files, 'messages': msgs, 'qos': QOS}, sys.stdout)


main()
