"""Writes a standalone ROS 2 .mcap with `mcap_ros2.writer.Writer` (no metadata.yaml, empty
channel metadata, zstd chunks) for embody-bag to read.

stdin:  {"path": file to create}
stdout: {"messages": [{"topic", "type", "log_time", "publish_time", "sequence", "value"}]}
"""
import json
import sys

from mcap_ros2.writer import Writer

TWIST = """geometry_msgs/Vector3 linear
geometry_msgs/Vector3 angular
================================================================================
MSG: geometry_msgs/Vector3
float64 x
float64 y
float64 z"""

STRING = 'string data'

# As mcap's own ros2-noenv example: builtin_interfaces/Time is not spelled out.
TF = """geometry_msgs/TransformStamped[] transforms
================================================================================
MSG: geometry_msgs/TransformStamped
std_msgs/Header header
string child_frame_id # the frame id of the child frame
Transform transform
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: geometry_msgs/Transform
Vector3 translation
Quaternion rotation
================================================================================
MSG: geometry_msgs/Vector3
float64 x
float64 y
float64 z
================================================================================
MSG: geometry_msgs/Quaternion
float64 x
float64 y
float64 z
float64 w"""


def main():
    req = json.load(sys.stdin)
    out = []
    with open(req['path'], 'wb') as f:
        w = Writer(f, chunk_size=512)
        twist = w.register_msgdef('geometry_msgs/msg/Twist', TWIST)
        string = w.register_msgdef('std_msgs/msg/String', STRING)
        tf = w.register_msgdef('tf2_msgs/msg/TFMessage', TF)
        for i in range(20):
            t = 1_000_000_000 + i * 100_000_000
            tw = {'linear': {'x': 1.0 + i, 'y': 0.0, 'z': 0.0},
                  'angular': {'x': 0.0, 'y': 0.0, 'z': 0.5 * i}}
            w.write_message(topic='/cmd_vel', schema=twist, message=tw, log_time=t,
                            publish_time=None, sequence=i)
            out.append({'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist', 'log_time': t,
                        'publish_time': t, 'sequence': i, 'value': tw})
            s = {'data': f'msg {i}'}
            w.write_message(topic='/chatter', schema=string, message=s, log_time=t + 5,
                            publish_time=t + 3, sequence=i)
            out.append({'topic': '/chatter', 'type': 'std_msgs/msg/String', 'log_time': t + 5,
                        'publish_time': t + 3, 'sequence': i, 'value': s})
            if i % 5 == 0:
                m = {'transforms': [{
                    'header': {'stamp': {'sec': 1, 'nanosec': i}, 'frame_id': 'map'},
                    'child_frame_id': 'odom',
                    'transform': {'translation': {'x': 0.25 * i, 'y': 2.0, 'z': 0.0},
                                  'rotation': {'x': 0.0, 'y': 0.0, 'z': 0.0, 'w': 1.0}}}]}
                w.write_message(topic='/tf', schema=tf, message=m, log_time=t + 7,
                                publish_time=t + 7, sequence=i)
                out.append({'topic': '/tf', 'type': 'tf2_msgs/msg/TFMessage',
                            'log_time': t + 7, 'publish_time': t + 7, 'sequence': i,
                            'value': m})
        w.finish()
    json.dump({'messages': out}, sys.stdout)


main()
