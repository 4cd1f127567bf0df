"""Helpers shared by the bag interop scripts: message objects to JSON in embody's serde form."""
import dataclasses

import numpy as np

# QoS as plain dicts, the shape the Rust side compares against.
def qos_to_dict(q):
    return {
        'history': q.history.name.lower(),
        'depth': q.depth,
        'reliability': q.reliability.name.lower(),
        'durability': q.durability.name.lower(),
        'deadline': [q.deadline.sec, q.deadline.nsec],
        'lifespan': [q.lifespan.sec, q.lifespan.nsec],
        'liveliness': q.liveliness.name.lower(),
        'liveliness_lease_duration': [q.liveliness_lease_duration.sec,
                                      q.liveliness_lease_duration.nsec],
    }


def to_json(v):
    """rosbags dataclasses and mcap_ros2 slot objects -> JSON values; arrays -> lists."""
    if isinstance(v, np.ndarray):
        return [to_json(x) for x in v.tolist()]
    if isinstance(v, (bytes, bytearray, memoryview)):
        return list(bytes(v))
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return v
    if dataclasses.is_dataclass(v):
        # rosbags lists `__msgtype__` and the constants (PointField.FLOAT32, ...) as fields
        # too; ROS field names are lower case, constant names upper case.
        return {f.name: to_json(getattr(v, f.name)) for f in dataclasses.fields(v)
                if not f.name.startswith('__') and not f.name.isupper()}
    if hasattr(type(v), '__slots__'):
        return {k: to_json(getattr(v, k)) for k in type(v).__slots__}
    raise TypeError(f'cannot convert {type(v)}')
