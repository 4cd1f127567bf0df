"""Independent oracle for embody's interface layer, built on Python `rosbags`.

Reads one JSON request on stdin and writes one JSON answer on stdout:
  register:  {type name: .msg text}  types the Jazzy store lacks, added from embody's text
  hash:      [type names]             -> hashes: {name: RIHS01 from Typestore.hash_rihs01}
  serialize: [{type, value}]          -> cdr: [hex of Typestore.serialize_cdr(value)]
The answer also lists `native`: which requested hash types the Jazzy store knew itself.
"""
import json
import sys

import numpy as np
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.base import Nodetype

DTYPES = {
    'bool': np.bool_, 'byte': np.uint8, 'char': np.uint8, 'octet': np.uint8,
    'int8': np.int8, 'uint8': np.uint8, 'int16': np.int16, 'uint16': np.uint16,
    'int32': np.int32, 'uint32': np.uint32, 'int64': np.int64, 'uint64': np.uint64,
    'float32': np.float32, 'float64': np.float64,
}


def build(ts, typename, value):
    """Makes a rosbags message object of `typename` from embody's JSON form."""
    _, fields = ts.fielddefs[typename]
    cls = ts.types[typename]
    args = {}
    for name, desc in fields:
        if name == 'structure_needs_at_least_one_member' and name not in value:
            args[name] = 0  # rosbags spells out the placeholder member of empty messages
            continue
        args[name] = build_field(ts, desc, value[name])
    return cls(**args)


def scalar(ts, desc, v):
    kind, detail = desc
    if kind == Nodetype.NAME:
        return build(ts, detail, v)
    base = detail[0]
    if base in ('string', 'wstring'):
        return v
    if base == 'bool':
        return bool(v)
    if base in ('float32', 'float64'):
        return float(v)
    if base == 'byte':
        # rosbags keeps ROS 1's signed `byte`; ROS 2's is an unsigned octet. Same byte on
        # the wire, so only the Python-side number changes.
        return (int(v) + 128) % 256 - 128
    return int(v)


def build_field(ts, desc, v):
    kind, detail = desc
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        sub, _ = detail
        if sub[0] == Nodetype.BASE and sub[1][0] in DTYPES:
            return np.array(v, dtype=DTYPES[sub[1][0]])
        return [scalar(ts, sub, x) for x in v]
    return scalar(ts, desc, v)


def fix_name(name):
    """rosbags files every parsed type under `msg/`; put srv and action parts back."""
    for kind in ('/srv/msg/', '/action/msg/'):
        name = name.replace(kind, kind[:-4])
    return name


def fix_desc(desc):
    """Applies fix_name to every type a parsed definition refers to."""
    if isinstance(desc, str):
        return fix_name(desc)
    if isinstance(desc, (tuple, list)):
        return type(desc)(fix_desc(x) for x in desc)
    return desc


def char_as_uint8(desc):
    """Rewrites a field description's `char` element type to `uint8`."""
    kind, detail = desc
    if kind == Nodetype.BASE:
        return (kind, ('uint8', detail[1])) if detail[0] == 'char' else desc
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return (kind, (char_as_uint8(detail[0]), detail[1]))
    return desc


def main():
    req = json.load(sys.stdin)
    ts = get_typestore(Stores.ROS2_JAZZY)
    known_before = set(ts.types)
    extra = {}
    for name, text in req.get('register', {}).items():
        if name not in known_before and 'wstring' not in text:
            extra.update(get_types_from_msg(text, name))
    ts.register({fix_name(k): fix_desc(v) for k, v in extra.items() if fix_name(k) not in known_before})
    answer = {
        'native': [n for n in req.get('hash', []) if n in known_before],
        'cdr': [bytes(ts.serialize_cdr(build(ts, m['type'], m['value']), m['type'])).hex()
                for m in req.get('serialize', [])],
    }
    # rosidl maps .msg `char` to uint8 when it builds type descriptions: its generated
    # description of service_msgs/msg/ServiceEventInfo gives `char[16] client_gid` type_id 51
    # (uint8 array) and hash RIHS01_41bcbbe0..., which rmw_zenoh peers use. rosbags keeps
    # `char` (type_id 13) and so hashes every type containing a char differently. Map it
    # as rosidl does before hashing; the CDR above is unaffected (both are one byte).
    for name, (consts, fields) in list(ts.fielddefs.items()):
        ts.fielddefs[name] = (consts, [(f, char_as_uint8(d)) for f, d in fields])
    answer['hashes'] = {n: ts.hash_rihs01(n) for n in req.get('hash', [])}
    json.dump(answer, sys.stdout)


if __name__ == '__main__':
    main()
