//! What a cluster's containers should look like, and the hash that tells whether an existing
//! container still matches.
//!
//! A [`Spec`] holds everything `up` passes to the engine for one container: image id,
//! environment, network and alias, volume, published port. Its hash is stored in the
//! container's `chefcito.config-hash` label; the next `up` keeps a container whose label
//! matches and recreates one whose label differs (new image, changed environment, other port).

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use serde::Serialize;

use crate::engine;
use crate::secrets::Secrets;
use crate::services::Service;

/// Bump when the way containers are created changes, so that every container is recreated.
const SPEC_FORMAT: u32 = 2;

/// Loopback only: the cluster is for this machine.
pub const PUBLISH_IP: &str = "127.0.0.1";

/// Which host address published ports listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishOn {
    /// [`PUBLISH_IP`]: what developers and tests use. The engine serves a loopback port
    /// through its userland proxy, a process that copies every byte (on the 2-core machine
    /// it halved the gateway's `GET /health` throughput, 20,000 → 10,500 req/s).
    #[default]
    Loopback,
    /// The host's own address on the project network (e.g. `172.18.0.1`): the kernel
    /// forwards the port (NAT), no proxy process. Still this machine only; `bench` uses it
    /// to measure the services rather than the engine's proxy.
    NetworkGateway,
}

/// How a service's port reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Publish {
    /// Not published: reachable only on the project network.
    No,
    /// On this host port.
    Fixed(u16),
    /// On a port the engine picks (CI: no clash between runs).
    Ephemeral,
}

/// One container, as `up` creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spec {
    format: u32,
    pub project: String,
    pub service: &'static str,
    pub container: String,
    pub image_id: String,
    pub env: BTreeMap<String, String>,
    pub network: String,
    pub volume: Option<String>,
    pub port: u16,
    pub publish: Publish,
    /// The host address of published ports ([`PUBLISH_IP`] unless `up` says otherwise).
    pub publish_ip: String,
}

impl Spec {
    /// The spec of `service` in `project`, running `image_id`.
    pub fn new(
        project: &str,
        service: &'static Service,
        image_id: &str,
        secrets: &Secrets,
        publish: Publish,
        overrides: &BTreeMap<String, String>,
    ) -> Spec {
        let mut env = service.environment("0.0.0.0", "/data", secrets, |dep| dep.name.to_string());
        env.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Spec {
            format: SPEC_FORMAT,
            project: project.to_string(),
            service: service.name,
            container: engine::container_name(project, service.name),
            image_id: image_id.to_string(),
            env,
            network: engine::network_name(project),
            volume: service
                .stateful
                .then(|| engine::volume_name(project, service.name)),
            port: service.port,
            publish,
            publish_ip: PUBLISH_IP.to_string(),
        }
    }

    /// SHA-256 of the whole spec. The environment holds the secrets; a hash of them reveals
    /// nothing.
    pub fn hash(&self) -> String {
        // Serialising plain data to JSON cannot fail; BTreeMaps keep the order canonical.
        crate::util::sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }

    /// The engine's create request.
    pub fn create_body(&self) -> ContainerCreateBody {
        let port_key = format!("{}/tcp", self.port);
        let host_port = match self.publish {
            Publish::No => None,
            Publish::Fixed(p) => Some(p.to_string()),
            Publish::Ephemeral => Some(String::new()),
        };
        let labels = HashMap::from([
            (engine::PROJECT.to_string(), self.project.clone()),
            (engine::SERVICE.to_string(), self.service.to_string()),
            (engine::CONFIG_HASH.to_string(), self.hash()),
        ]);
        let port_bindings = host_port.map(|hp| {
            HashMap::from([(
                port_key.clone(),
                Some(vec![PortBinding {
                    host_ip: Some(self.publish_ip.clone()),
                    host_port: Some(hp),
                }]),
            )])
        });
        let endpoint = EndpointSettings {
            aliases: Some(vec![self.service.to_string()]),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image_id.clone()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: Some(HashMap::from([(port_key, HashMap::new())])),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone()),
                binds: self.volume.as_ref().map(|v| vec![format!("{v}:/data")]),
                port_bindings,
                // A service that dies (killed, out of memory) comes back by itself; `down`
                // stops it for good.
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(self.network.clone(), endpoint)])),
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services;

    fn spec(overrides: &[(&str, &str)], publish: Publish) -> Spec {
        let secrets = Secrets::generate().unwrap();
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let gw = services::get("gateway").unwrap();
        Spec::new("p", gw, "sha256:abc", &secrets, publish, &overrides)
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let secrets = Secrets::generate().unwrap();
        let users = services::get("users").unwrap();
        let none = BTreeMap::new();
        let a = Spec::new("p", users, "sha256:1", &secrets, Publish::No, &none);
        let b = Spec::new("p", users, "sha256:1", &secrets, Publish::No, &none);
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
        let other_image = Spec::new("p", users, "sha256:2", &secrets, Publish::No, &none);
        assert_ne!(a.hash(), other_image.hash());
        let published = Spec::new("p", users, "sha256:1", &secrets, Publish::Ephemeral, &none);
        assert_ne!(a.hash(), published.hash());
        let env = BTreeMap::from([("LOG".to_string(), "debug".to_string())]);
        let with_env = Spec::new("p", users, "sha256:1", &secrets, Publish::No, &env);
        assert_ne!(a.hash(), with_env.hash());
        // Other secrets (another cluster) are another configuration.
        let other = Spec::new(
            "p",
            users,
            "sha256:1",
            &Secrets::generate().unwrap(),
            Publish::No,
            &none,
        );
        assert_ne!(a.hash(), other.hash());
    }

    #[test]
    fn environment_and_wiring() {
        let s = spec(&[("LOG", "debug")], Publish::Fixed(8000));
        assert_eq!(s.env["BIND"], "0.0.0.0:8000");
        assert_eq!(s.env["DATA_DIR"], "/data");
        assert_eq!(s.env["USERS_URL"], "http://users:8001");
        assert_eq!(s.env["LOG"], "debug");
        assert_eq!(s.env["INTERNAL_TOKEN"].len(), 64);
        assert!(!s.env.contains_key("SIGNING_KEY"));
        let body = s.create_body();
        let bindings = body
            .host_config
            .as_ref()
            .unwrap()
            .port_bindings
            .as_ref()
            .unwrap();
        let b = &bindings["8000/tcp"].as_ref().unwrap()[0];
        assert_eq!(
            (b.host_ip.as_deref(), b.host_port.as_deref()),
            (Some("127.0.0.1"), Some("8000"))
        );
        let labels = body.labels.unwrap();
        assert_eq!(labels[engine::CONFIG_HASH], s.hash());
        // Published on another host address (bench: the network's gateway), another container.
        let mut on_bridge = s.clone();
        on_bridge.publish_ip = "172.18.0.1".into();
        let moved = on_bridge
            .create_body()
            .host_config
            .unwrap()
            .port_bindings
            .unwrap();
        let moved = &moved["8000/tcp"].as_ref().unwrap()[0];
        assert_eq!(moved.host_ip.as_deref(), Some("172.18.0.1"));
        assert_ne!(on_bridge.hash(), s.hash());
        assert_eq!(labels[engine::PROJECT], "p");
        let aliases = &body.networking_config.unwrap().endpoints_config.unwrap()["p"];
        assert_eq!(
            aliases.aliases.as_deref(),
            Some(&["gateway".to_string()][..])
        );
        let users = Spec::new(
            "p",
            services::get("users").unwrap(),
            "i",
            &Secrets::generate().unwrap(),
            Publish::No,
            &BTreeMap::new(),
        );
        assert!(
            !users.env.contains_key("SIGNING_KEY"),
            "users owns its signing key"
        );
        assert_eq!(
            users.create_body().host_config.unwrap().binds.unwrap(),
            ["p-users-data:/data"]
        );
    }

    #[test]
    fn containers_restart_unless_stopped() {
        let policy = spec(&[], Publish::No)
            .create_body()
            .host_config
            .unwrap()
            .restart_policy
            .unwrap();
        assert_eq!(policy.name, Some(RestartPolicyNameEnum::UNLESS_STOPPED));
    }

    #[test]
    fn ephemeral_ports_let_the_engine_choose() {
        let body = spec(&[], Publish::Ephemeral).create_body();
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(
            bindings["8000/tcp"].as_ref().unwrap()[0]
                .host_port
                .as_deref(),
            Some("")
        );
        assert!(
            spec(&[], Publish::No)
                .create_body()
                .host_config
                .unwrap()
                .port_bindings
                .is_none()
        );
    }
}
