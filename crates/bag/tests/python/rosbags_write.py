"""Writes rosbag2 bags with Python `rosbags` for embody-bag to read.

stdin:  {"dir": output directory (exists, empty)}
stdout: {"bags": {name: {"path", "storage", "version"}}, "topics": {topic: {type, count, qos}},
         "messages": [{"topic", "type", "timestamp", "value", "cdr"}], "hashes": {type: RIHS01}}
Every bag holds the same messages, in the order written.
"""
import json
import sys
from pathlib import Path

import numpy as np
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                QosReliability, QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

sys.path.insert(0, str(Path(__file__).parent))
from common import qos_to_dict, to_json  # noqa: E402

ts = get_typestore(Stores.ROS2_JAZZY)
T = ts.types
Time = T['builtin_interfaces/msg/Time']
Header = T['std_msgs/msg/Header']
String = T['std_msgs/msg/String']
Vector3 = T['geometry_msgs/msg/Vector3']
Quaternion = T['geometry_msgs/msg/Quaternion']
Twist = T['geometry_msgs/msg/Twist']
Transform = T['geometry_msgs/msg/Transform']
TransformStamped = T['geometry_msgs/msg/TransformStamped']
TFMessage = T['tf2_msgs/msg/TFMessage']
PointField = T['sensor_msgs/msg/PointField']
PointCloud2 = T['sensor_msgs/msg/PointCloud2']

BASE = 1_700_000_000_000_000_000
INF = QosTime(sec=9223372036, nsec=854775807)
TF_STATIC_QOS = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE,
                    QosDurability.TRANSIENT_LOCAL, INF, INF, QosLiveliness.AUTOMATIC, INF,
                    False)
SCAN_QOS = Qos(QosHistory.KEEP_LAST, 5, QosReliability.BEST_EFFORT, QosDurability.VOLATILE,
               QosTime(0, 250_000_000), INF, QosLiveliness.AUTOMATIC, INF, False)

TOPICS = [
    ('/chatter', String, ()),
    ('/cmd_vel', Twist, ()),
    ('/tf', TFMessage, ()),
    ('/tf_static', TFMessage, (TF_STATIC_QOS,)),
    ('/points', PointCloud2, (SCAN_QOS,)),
]


def stamp(t):
    return Time(sec=t // 10**9, nanosec=t % 10**9)


def tf(t, i, parent, child):
    return TransformStamped(
        header=Header(stamp=stamp(t), frame_id=parent),
        child_frame_id=child,
        transform=Transform(translation=Vector3(x=0.5 * i, y=-1.25, z=3.0),
                            rotation=Quaternion(x=0.0, y=0.0, z=0.25 * i, w=1.0)))


def cloud(t, i):
    n = 4 + i
    rng = np.random.default_rng(1000 + i)
    data = rng.integers(0, 256, size=12 * n, dtype=np.uint8)
    fields = [PointField(name=name, offset=4 * k, datatype=7, count=1)
              for k, name in enumerate('xyz')]
    return PointCloud2(header=Header(stamp=stamp(t), frame_id='lidar'), height=1, width=n,
                       fields=fields, is_bigendian=False, point_step=12, row_step=12 * n,
                       data=data, is_dense=i % 2 == 0)


def messages():
    out = []
    for i in range(6):
        t = BASE + i * 100_000_000
        out.append(('/chatter', String(data=f'hello {i} — ünïcode ✓'), t + 1))
        out.append(('/cmd_vel', Twist(linear=Vector3(x=0.5 * i, y=0.0, z=-1.0),
                                      angular=Vector3(x=0.0, y=0.0, z=-0.25 * i)), t + 2))
        out.append(('/tf', TFMessage(transforms=[tf(t, i, 'odom', 'base_link'),
                                                 tf(t, i + 1, 'base_link', 'lidar')]), t + 3))
        out.append(('/points', cloud(t, i), t + 4))
    out.insert(0, ('/tf_static', TFMessage(transforms=[tf(BASE, 7, 'base_link', 'camera')]),
                   BASE))
    return out


def main():
    req = json.load(sys.stdin)
    root = Path(req['dir'])
    variants = {
        'mcap_v9': (StoragePlugin.MCAP, 9),
        'sqlite3_v9': (StoragePlugin.SQLITE3, 9),
        'sqlite3_v8': (StoragePlugin.SQLITE3, 8),
    }
    msgs = messages()
    types = {topic: cls.__msgtype__ for topic, cls, _ in TOPICS}
    bags = {}
    for name, (plugin, version) in variants.items():
        path = root / name
        with Writer(path, version=version, storage_plugin=plugin) as w:
            conns = {topic: w.add_connection(topic, cls.__msgtype__, typestore=ts,
                                             offered_qos_profiles=list(qos))
                     for topic, cls, qos in TOPICS}
            for topic, msg, t in msgs:
                w.write(conns[topic], t, ts.serialize_cdr(msg, types[topic]))
        bags[name] = {'path': str(path), 'storage': 'mcap' if plugin == StoragePlugin.MCAP
                      else 'sqlite3', 'version': version}
    counts = {}
    for topic, _, _ in msgs:
        counts[topic] = counts.get(topic, 0) + 1
    json.dump({
        'bags': bags,
        'topics': {topic: {'type': cls.__msgtype__, 'count': counts[topic],
                           'qos': [qos_to_dict(q) for q in qos]}
                   for topic, cls, qos in TOPICS},
        'messages': [{'topic': topic, 'type': types[topic], 'timestamp': t,
                      'value': to_json(msg),
                      'cdr': ts.serialize_cdr(msg, types[topic]).hex()}
                     for topic, msg, t in msgs],
        'hashes': {cls.__msgtype__: ts.hash_rihs01(cls.__msgtype__) for _, cls, _ in TOPICS},
    }, sys.stdout)


main()
