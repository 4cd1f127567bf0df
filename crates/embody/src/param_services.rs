//! The `rcl_interfaces` parameter services every ROS 2 node offers (`~/get_parameters`,
//! `~/set_parameters`, `~/set_parameters_atomically`, `~/list_parameters`,
//! `~/describe_parameters`, `~/get_parameter_types`) and `/parameter_events`, so `ros2 param`
//! and `embody param` work on embody nodes. A thin adapter over [`Parameters`].

use std::sync::Arc;

use embody_msgs::rcl_interfaces::msg::{
    FloatingPointRange, IntegerRange, ListParametersResult, Parameter,
    ParameterDescriptor as DescriptorMsg, ParameterEvent, ParameterType,
    ParameterValue as ValueMsg, SetParametersResult,
};
use embody_msgs::rcl_interfaces::srv::{
    DescribeParameters, DescribeParameters_Response, GetParameterTypes, GetParameterTypes_Response,
    GetParameters, GetParameters_Response, ListParameters, ListParameters_Response, SetParameters,
    SetParameters_Response, SetParametersAtomically, SetParametersAtomically_Response,
};

use crate::error::Result;
use crate::node::Node;
use crate::params::{ParameterValue, Parameters};
use crate::publisher::Publisher;
use crate::qos::QosProfile;
use crate::service::ServiceServer;

/// `rcl_interfaces/ParameterValue` of a value.
pub fn value_to_msg(v: &ParameterValue) -> ValueMsg {
    let mut m = ValueMsg::default();
    match v {
        ParameterValue::Bool(b) => (m.r#type, m.bool_value) = (ParameterType::PARAMETER_BOOL, *b),
        ParameterValue::Integer(i) => {
            (m.r#type, m.integer_value) = (ParameterType::PARAMETER_INTEGER, *i)
        }
        ParameterValue::Double(d) => {
            (m.r#type, m.double_value) = (ParameterType::PARAMETER_DOUBLE, *d)
        }
        ParameterValue::String(s) => {
            (m.r#type, m.string_value) = (ParameterType::PARAMETER_STRING, s.clone())
        }
        ParameterValue::ByteArray(b) => {
            (m.r#type, m.byte_array_value) = (ParameterType::PARAMETER_BYTE_ARRAY, b.clone().into())
        }
        ParameterValue::BoolArray(b) => {
            (m.r#type, m.bool_array_value) = (ParameterType::PARAMETER_BOOL_ARRAY, b.clone())
        }
        ParameterValue::IntegerArray(i) => {
            (m.r#type, m.integer_array_value) = (ParameterType::PARAMETER_INTEGER_ARRAY, i.clone())
        }
        ParameterValue::DoubleArray(d) => {
            (m.r#type, m.double_array_value) = (ParameterType::PARAMETER_DOUBLE_ARRAY, d.clone())
        }
        ParameterValue::StringArray(s) => {
            (m.r#type, m.string_array_value) = (ParameterType::PARAMETER_STRING_ARRAY, s.clone())
        }
    }
    m
}

/// The value an `rcl_interfaces/ParameterValue` carries (`None` for NOT_SET or an unknown type).
pub fn value_from_msg(m: &ValueMsg) -> Option<ParameterValue> {
    Some(match m.r#type {
        ParameterType::PARAMETER_BOOL => ParameterValue::Bool(m.bool_value),
        ParameterType::PARAMETER_INTEGER => ParameterValue::Integer(m.integer_value),
        ParameterType::PARAMETER_DOUBLE => ParameterValue::Double(m.double_value),
        ParameterType::PARAMETER_STRING => ParameterValue::String(m.string_value.clone()),
        ParameterType::PARAMETER_BYTE_ARRAY => {
            ParameterValue::ByteArray(m.byte_array_value.to_vec())
        }
        ParameterType::PARAMETER_BOOL_ARRAY => {
            ParameterValue::BoolArray(m.bool_array_value.clone())
        }
        ParameterType::PARAMETER_INTEGER_ARRAY => {
            ParameterValue::IntegerArray(m.integer_array_value.clone())
        }
        ParameterType::PARAMETER_DOUBLE_ARRAY => {
            ParameterValue::DoubleArray(m.double_array_value.clone())
        }
        ParameterType::PARAMETER_STRING_ARRAY => {
            ParameterValue::StringArray(m.string_array_value.clone())
        }
        _ => return None,
    })
}

fn type_of(params: &Parameters, name: &str) -> u8 {
    params
        .get(name)
        .map(|v| value_to_msg(&v).r#type)
        .unwrap_or(ParameterType::PARAMETER_NOT_SET)
}

/// The services and event publisher of one node; dropping it withdraws them.
pub(crate) struct ParameterServices {
    _get: ServiceServer<GetParameters>,
    _set: ServiceServer<SetParameters>,
    _set_atomically: ServiceServer<SetParametersAtomically>,
    _list: ServiceServer<ListParameters>,
    _describe: ServiceServer<DescribeParameters>,
    _types: ServiceServer<GetParameterTypes>,
}

/// Publishes a `ParameterEvent` for every successful change.
fn event(node: &str, changed: &[(String, ParameterValue)]) -> ParameterEvent {
    ParameterEvent {
        stamp: crate::time::Time::from_nanos(crate::wire::now_ns()).to_msg(),
        node: node.to_owned(),
        changed_parameters: changed
            .iter()
            .map(|(n, v)| Parameter {
                name: n.clone(),
                value: value_to_msg(v),
            })
            .collect(),
        ..Default::default()
    }
}

impl ParameterServices {
    pub(crate) async fn start(node: &Node, params: Arc<Parameters>) -> Result<Self> {
        let events: Arc<Publisher<ParameterEvent>> = Arc::new(
            node.create_publisher("/parameter_events", QosProfile::keep_last(1000))
                .await?,
        );
        let fq = node.fully_qualified_name();
        let runtime = tokio::runtime::Handle::current();
        // Handlers run on the blocking pool; events are published from the runtime.
        let announce = {
            let (events, fq, runtime) = (events.clone(), fq.clone(), runtime.clone());
            move |changed: Vec<(String, ParameterValue)>| {
                let (events, msg) = (events.clone(), event(&fq, &changed));
                runtime.spawn(async move {
                    if let Err(e) = events.publish(msg).await {
                        tracing::warn!("cannot publish a parameter event: {e}");
                    }
                });
            }
        };
        let p = params.clone();
        let get = node
            .create_service::<GetParameters, _>("~/get_parameters", move |req| {
                GetParameters_Response {
                    values: req
                        .names
                        .iter()
                        .map(|n| p.get(n).map(|v| value_to_msg(&v)).unwrap_or_default())
                        .collect(),
                }
            })
            .await?;
        let (p, a) = (params.clone(), announce.clone());
        let set = node
            .create_service::<SetParameters, _>("~/set_parameters", move |req| {
                let results = req
                    .parameters
                    .iter()
                    .map(|param| {
                        let outcome = value_from_msg(&param.value)
                            .ok_or_else(|| format!("parameter `{}`: no value given (deleting parameters is not supported)", param.name))
                            .and_then(|v| p.set(&param.name, v.clone()).map(|()| v).map_err(|e| e.to_string()));
                        match outcome {
                            Ok(v) => {
                                a(vec![(param.name.clone(), v)]);
                                SetParametersResult { successful: true, reason: String::new() }
                            }
                            Err(reason) => SetParametersResult { successful: false, reason },
                        }
                    })
                    .collect();
                SetParameters_Response { results }
            })
            .await?;
        let (p, a) = (params.clone(), announce);
        let set_atomically = node
            .create_service::<SetParametersAtomically, _>(
                "~/set_parameters_atomically",
                move |req| {
                    let values: Option<Vec<(String, ParameterValue)>> = req
                        .parameters
                        .iter()
                        .map(|param| value_from_msg(&param.value).map(|v| (param.name.clone(), v)))
                        .collect();
                    let outcome = match values {
                        None => Err(
                            "a parameter has no value (deleting parameters is not supported)"
                                .to_owned(),
                        ),
                        Some(values) => p
                            .set_all(values.clone())
                            .map(|()| values)
                            .map_err(|e| e.to_string()),
                    };
                    let result = match outcome {
                        Ok(values) => {
                            a(values);
                            SetParametersResult {
                                successful: true,
                                reason: String::new(),
                            }
                        }
                        Err(reason) => SetParametersResult {
                            successful: false,
                            reason,
                        },
                    };
                    SetParametersAtomically_Response { result }
                },
            )
            .await?;
        let p = params.clone();
        let list = node
            .create_service::<ListParameters, _>("~/list_parameters", move |req| {
                let names: Vec<String> = p
                    .names()
                    .into_iter()
                    .filter(|n| {
                        req.prefixes.is_empty()
                            || req
                                .prefixes
                                .iter()
                                .any(|pre| n == pre || n.starts_with(&format!("{pre}.")))
                    })
                    .filter(|n| req.depth == 0 || n.split('.').count() as u64 <= req.depth)
                    .collect();
                let mut prefixes: Vec<String> = names
                    .iter()
                    .filter_map(|n| n.rsplit_once('.').map(|(pre, _)| pre.to_owned()))
                    .collect();
                prefixes.sort();
                prefixes.dedup();
                ListParameters_Response {
                    result: ListParametersResult { names, prefixes },
                }
            })
            .await?;
        let p = params.clone();
        let describe = node
            .create_service::<DescribeParameters, _>("~/describe_parameters", move |req| {
                DescribeParameters_Response {
                    descriptors: req
                        .names
                        .iter()
                        .map(|n| {
                            let d = p.describe(n).unwrap_or_default();
                            DescriptorMsg {
                                name: n.clone(),
                                r#type: type_of(&p, n),
                                description: d.description,
                                read_only: d.read_only,
                                floating_point_range: d
                                    .floating_point_range
                                    .map(|(from_value, to_value)| FloatingPointRange {
                                        from_value,
                                        to_value,
                                        step: 0.0,
                                    })
                                    .into_iter()
                                    .collect(),
                                integer_range: d
                                    .integer_range
                                    .map(|(from_value, to_value)| IntegerRange {
                                        from_value,
                                        to_value,
                                        step: 0,
                                    })
                                    .into_iter()
                                    .collect(),
                                ..Default::default()
                            }
                        })
                        .collect(),
                }
            })
            .await?;
        let p = params;
        let types = node
            .create_service::<GetParameterTypes, _>("~/get_parameter_types", move |req| {
                GetParameterTypes_Response {
                    types: req.names.iter().map(|n| type_of(&p, n)).collect(),
                }
            })
            .await?;
        Ok(Self {
            _get: get,
            _set: set,
            _set_atomically: set_atomically,
            _list: list,
            _describe: describe,
            _types: types,
        })
    }
}
