//! `--ros-args` as ROS 2 programs accept them.

use crate::error::{Error, Result};
use crate::names::Remap;

/// What `--ros-args ... [--]` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosArgs {
    /// `-r` / `--remap` rules, in order.
    pub remaps: Vec<Remap>,
    /// `-p` / `--param name:=value` assignments (applied by the parameter layer).
    pub params: Vec<(String, String)>,
    /// `--params-file FILE` paths.
    pub params_files: Vec<String>,
    /// `--log-level LEVEL`.
    pub log_level: Option<String>,
    /// `-e` / `--enclave`.
    pub enclave: Option<String>,
}

impl RosArgs {
    /// Splits a command line into the program's own arguments and the ROS arguments.
    pub fn split(args: &[String]) -> Result<(Vec<String>, RosArgs)> {
        let mut own = Vec::new();
        let mut ros = RosArgs::default();
        let mut i = 0;
        while i < args.len() {
            if args[i] != "--ros-args" {
                own.push(args[i].clone());
                i += 1;
                continue;
            }
            i += 1;
            while i < args.len() && args[i] != "--" && args[i] != "--ros-args" {
                let flag = args[i].as_str();
                let mut value = || {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| Error::Args(format!("`{flag}` needs a value")))
                };
                match flag {
                    "-r" | "--remap" => ros
                        .remaps
                        .push(Remap::parse(&value()?).map_err(Error::Args)?),
                    "-p" | "--param" => {
                        let v = value()?;
                        let (name, val) = v.split_once(":=").ok_or_else(|| {
                            Error::Args(format!("parameter `{v}` needs `name:=value`"))
                        })?;
                        ros.params.push((name.to_owned(), val.to_owned()));
                    }
                    "--params-file" => ros.params_files.push(value()?),
                    "--log-level" => ros.log_level = Some(value()?),
                    "-e" | "--enclave" => ros.enclave = Some(value()?),
                    other => return Err(Error::Args(format!("unknown argument `{other}`"))),
                }
                i += 1;
            }
            if i < args.len() && args[i] == "--" {
                i += 1;
            }
        }
        Ok((own, ros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn splits_own_and_ros_arguments() {
        let (own, ros) = RosArgs::split(&s(&[
            "prog",
            "--verbose",
            "--ros-args",
            "-r",
            "chatter:=/x",
            "-r",
            "__ns:=/robot",
            "-p",
            "rate:=10",
            "--",
            "tail",
        ]))
        .unwrap();
        assert_eq!(own, s(&["prog", "--verbose", "tail"]));
        assert_eq!(ros.remaps.len(), 2);
        assert_eq!(ros.params, [("rate".to_owned(), "10".to_owned())]);
        assert_eq!(
            RosArgs::split(&s(&["p", "--ros-args", "--bogus"]))
                .unwrap_err()
                .to_string(),
            "--ros-args: unknown argument `--bogus`"
        );
        assert_eq!(
            RosArgs::split(&s(&["p", "--ros-args", "-r"]))
                .unwrap_err()
                .to_string(),
            "--ros-args: `-r` needs a value"
        );
    }
}
