//! The Kubernetes manifests (`deploy/k8s/`) against the table of services.
//!
//! Each overlay is rendered with `kubectl kustomize` (offline: no cluster) and every rendered
//! object is walked. The rules are derived from `xtask::services::SERVICES`, so a service added
//! to the table without manifests, or a dependency added without its `<DEP>_URL` and network
//! policy, fails here:
//!
//! * workloads: a stateless service is a Deployment of at least 2 replicas with an
//!   autoscaling/v2 HPA on CPU and a PodDisruptionBudget; a stateful one is a StatefulSet of
//!   exactly 1 replica (SQLite has one writer) with a volume claim mounted at `/data`;
//! * every container (the permission Job's too): its image under `<registry>/<env>/`, probes
//!   `/ready` and `/health` on the service's port, CPU and memory requests and limits that
//!   cover the measured memory, the restricted security context (user 10001), and the
//!   environment `Service::environment` gives it in the local cluster (`INTERNAL_TOKEN` from a
//!   Secret); names that look like credentials come from Secrets;
//! * a Service named after each service on its port (what `<DEP>_URL` points at), an Ingress
//!   for the public one only, Prometheus annotations for `/metrics`;
//! * network policies: default deny; each internal service accepts exactly its callers (the
//!   services whose `depends_on` or `reaches` name it, plus the Job for users) and Prometheus;
//!   each service may reach its dependencies and DNS;
//! * the permission ConfigMap is the repository's `db_config.yaml`, byte for byte, and the Job
//!   mounts it; no Secret is committed, and every Secret referenced is documented in
//!   `docs/deploy.md`.
//!
//! Without a usable kubectl the rendering tests skip (printing why), except with `CI=true`,
//! where they fail and say to run `cargo xtask install`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use xtask::services::{SERVICES, Service};

const REGISTRY: &str = "chefcito.azurecr.io";
/// Overlay and namespace of each environment.
const ENVIRONMENTS: [(&str, &str); 2] =
    [("staging", "chefcito-staging"), ("production", "chefcito")];
const NAME_LABEL: &str = "app.kubernetes.io/name";
/// The Job that loads `db_config.yaml` into users, and the service whose image it runs.
const JOB: &str = "load-permissions";
const JOB_IMAGE: &str = "users";
/// The namespace label that lets Prometheus scrape every service's port.
const SCRAPE_LABEL: (&str, &str) = ("chefcito.io/scrape", "true");
/// The numeric user and group of the images (containerfiles/*/CONTAINERFILE).
const IMAGE_USER: i64 = 10001;
/// The highest RSS measured for any service under load (argon2 hashing aside).
const PEAK_MIB: f64 = 31.0;
/// The service that hashes passwords: its idle RSS plus one argon2id buffer per slot.
const HASHING: &str = "users";
const HASHING_IDLE_MIB: f64 = 38.0;
const HASHING_SLOT_MIB: f64 = 19.0;

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The rendered objects of an overlay; `None` (the test skips) when there is no usable
/// kubectl outside CI.
fn render(env: &str) -> Option<Vec<Value>> {
    let sh = xtask::cargo::shell().unwrap();
    if let Err(e) = xtask::kubectl::usable(&sh) {
        if ci() {
            panic!(
                "{e:#}\nCI=true: the deploy checks are mandatory; `cargo xtask install` installs kubectl"
            );
        }
        eprintln!("skipped: {e:#} (the deploy checks need it)");
        return None;
    }
    let yaml = xtask::kubectl::render(&sh, &xtask::kubectl::overlay(env))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml)
        .unwrap_or_else(|e| panic!("the rendered {env} overlay is not YAML: {e}"));
    Some(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn assert_no_problems(env: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "deploy/k8s/overlays/{env} breaks {} rule(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

#[test]
fn the_staging_overlay_follows_the_rules() {
    let (env, namespace) = ENVIRONMENTS[0];
    if let Some(objects) = render(env) {
        assert_no_problems(env, &problems(&objects, env, namespace));
    }
}

#[test]
fn the_production_overlay_follows_the_rules() {
    let (env, namespace) = ENVIRONMENTS[1];
    if let Some(objects) = render(env) {
        assert_no_problems(env, &problems(&objects, env, namespace));
    }
}

/// Kustomize reads only files under the kustomization's directory, so the base keeps a copy of
/// the permission file (the rendered check above also compares the ConfigMap).
#[test]
fn the_base_holds_a_copy_of_db_config_yaml() {
    let root = xtask::paths::root();
    let original = std::fs::read_to_string(root.join("db_config.yaml")).unwrap();
    let copy = std::fs::read_to_string(root.join("deploy/k8s/base/db_config.yaml")).unwrap();
    assert!(
        copy == original,
        "deploy/k8s/base/db_config.yaml differs from db_config.yaml: `cp db_config.yaml deploy/k8s/base/`"
    );
}

/// The checks can fail: each breakage of a correct overlay is reported.
#[test]
fn the_checks_catch_broken_manifests() {
    let (env, namespace) = ENVIRONMENTS[0];
    let Some(good) = render(env) else { return };
    assert_no_problems(env, &problems(&good, env, namespace));
    type Breakage = (&'static str, fn(&mut Vec<Value>), &'static str);
    let breakages: &[Breakage] = &[
        (
            "a caller left out",
            |o| {
                let p = find_mut(o, "NetworkPolicy", "users-ingress");
                let from = p["spec"]["ingress"][0]["from"].as_array_mut().unwrap();
                from.retain(|peer| {
                    peer["podSelector"]["matchLabels"][NAME_LABEL] != "reservations"
                });
            },
            "users: the callers allowed in",
        ),
        (
            "a stranger let in",
            |o| {
                let p = find_mut(o, "NetworkPolicy", "stats-ingress");
                p["spec"]["ingress"][0]["from"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"podSelector": {"matchLabels": {NAME_LABEL: "summaries"}}}));
            },
            "stats: the callers allowed in",
        ),
        (
            "two writers",
            |o| find_mut(o, "StatefulSet", "venues")["spec"]["replicas"] = json!(2),
            "venues: a StatefulSet of 2 replicas",
        ),
        (
            "a service without manifests",
            |o| o.retain(|v| !(v["kind"] == "StatefulSet" && v["metadata"]["name"] == "stats")),
            "stats: no StatefulSet",
        ),
        (
            "no internal token",
            |o| {
                container_mut(o, "StatefulSet", "points")["env"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|e| e["name"] != "INTERNAL_TOKEN");
            },
            "points: env INTERNAL_TOKEN is missing",
        ),
        (
            "a wrong dependency address",
            |o| {
                let c = container_mut(o, "StatefulSet", "opinions");
                for e in c["env"].as_array_mut().unwrap() {
                    if e["name"] == "SUMMARIES_URL" {
                        e["value"] = json!("http://summaries:9999");
                    }
                }
            },
            "opinions: env SUMMARIES_URL is",
        ),
        (
            "an image from elsewhere",
            |o| {
                container_mut(o, "Deployment", "gateway")["image"] =
                    json!("docker.io/library/gateway:latest");
            },
            "gateway: image docker.io/library/gateway:latest",
        ),
        (
            "a writable root",
            |o| {
                container_mut(o, "StatefulSet", "summaries")["securityContext"]["readOnlyRootFilesystem"] =
                    json!(false);
            },
            "summaries: readOnlyRootFilesystem",
        ),
        (
            "more hashing slots than memory",
            |o| {
                container_mut(o, "StatefulSet", "users")["resources"]["limits"]["cpu"] =
                    json!("16");
            },
            "users: memory limit",
        ),
        (
            "a stale permission table",
            |o| {
                for v in o.iter_mut().filter(|v| v["kind"] == "ConfigMap") {
                    if let Some(text) = v["data"]["db_config.yaml"].as_str() {
                        v["data"]["db_config.yaml"] = json!(format!("{text}# edited\n"));
                    }
                }
            },
            "db_config.yaml",
        ),
        (
            "a committed secret",
            |o| {
                o.push(json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "chefcito-internal", "namespace": "chefcito-staging"},
                    "stringData": {"internal-token": "x"}}))
            },
            "Secret chefcito-internal is in the manifests",
        ),
        (
            "no readiness probe",
            |o| {
                let c = container_mut(o, "StatefulSet", "communications");
                c.as_object_mut().unwrap().remove("readinessProbe");
            },
            "communications: no readinessProbe",
        ),
        (
            "no egress between the services",
            |o| o.retain(|v| v["metadata"]["name"] != "allow-egress-within-namespace"),
            "reservations: reservations may not reach users on port 8001",
        ),
        (
            "a Job that loads another file",
            |o| {
                container_mut(o, "Job", JOB)["args"][2] = json!("/config/other.yaml");
            },
            "load-permissions: args",
        ),
    ];
    for (what, breakage, expected) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        let found = problems(&broken, env, namespace);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{what}: expected a problem containing {expected:?}, got {found:#?}"
        );
    }
}

fn find_mut<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The first container of a workload.
fn container_mut<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    &mut find_mut(objects, kind, name)["spec"]["template"]["spec"]["containers"][0]
}

// ---------------------------------------------------------------------------------------------
// The rules.

/// Everything wrong with the rendered objects of `env`, one line each.
fn problems(objects: &[Value], env: &str, namespace: &str) -> Vec<String> {
    let m = Manifests { objects };
    let mut p = Vec::new();
    check_namespace(&m, namespace, &mut p);
    check_no_secrets(&m, &mut p);
    for s in SERVICES {
        check_service(&m, s, env, &mut p);
    }
    check_no_strangers(&m, &mut p);
    check_default_deny(&m, &mut p);
    check_job(&m, env, &mut p);
    check_documented_secrets(&m, &mut p);
    p
}

struct Manifests<'a> {
    objects: &'a [Value],
}

impl Manifests<'_> {
    fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s Value> + 's {
        self.objects.iter().filter(move |v| v["kind"] == kind)
    }

    fn get(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
    }

    /// The pod templates of every workload, with the workload's kind and name.
    fn pod_templates(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.objects.iter().filter_map(|v| {
            let kind = v["kind"].as_str()?;
            matches!(kind, "Deployment" | "StatefulSet" | "Job").then(|| {
                (
                    kind,
                    v["metadata"]["name"].as_str().unwrap_or(""),
                    &v["spec"]["template"],
                )
            })
        })
    }
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), String::from),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Does a label selector (`matchLabels`, `matchExpressions` with `In`/`NotIn`/`Exists`) select
/// `labels`? An empty selector selects everything.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let wanted = str_map(&selector["matchLabels"]);
    if !wanted.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: BTreeSet<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let have = labels.get(key).map(String::as_str);
            match e["operator"].as_str() {
                Some("In") => have.is_some_and(|h| values.contains(h)),
                Some("NotIn") => !have.is_some_and(|h| values.contains(h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        })
}

fn pod_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAME_LABEL.to_string(), name.to_string())])
}

fn check_namespace(m: &Manifests, namespace: &str, p: &mut Vec<String>) {
    if m.get("Namespace", namespace).is_none() {
        p.push(format!("no Namespace {namespace}"));
    }
    for v in m.objects {
        let kind = v["kind"].as_str().unwrap_or("?");
        if kind == "Namespace" {
            continue;
        }
        if v["metadata"]["namespace"] != namespace {
            p.push(format!(
                "{kind} {} is in namespace {}, not {namespace}",
                v["metadata"]["name"], v["metadata"]["namespace"]
            ));
        }
    }
}

/// Secrets are created in the cluster (docs/deploy.md), never committed.
fn check_no_secrets(m: &Manifests, p: &mut Vec<String>) {
    for s in m.of_kind("Secret") {
        p.push(format!(
            "Secret {} is in the manifests: secrets are created with kubectl (docs/deploy.md), never committed",
            s["metadata"]["name"].as_str().unwrap_or("?")
        ));
    }
}

/// A workload that is neither a service of the table nor the Job: a service removed from the
/// table whose manifests stayed.
fn check_no_strangers(m: &Manifests, p: &mut Vec<String>) {
    for (kind, name, _) in m.pod_templates() {
        if xtask::services::get(name).is_err() && !(kind == "Job" && name == JOB) {
            p.push(format!(
                "{kind} {name} is not a service of xtask/src/services.rs"
            ));
        }
    }
}

fn check_service(m: &Manifests, s: &Service, env: &str, p: &mut Vec<String>) {
    let name = s.name;
    let mut problem = |text: String| p.push(format!("{name}: {text}"));
    let (kind, other) = if s.stateful {
        ("StatefulSet", "Deployment")
    } else {
        ("Deployment", "StatefulSet")
    };
    if m.get(other, name).is_some() {
        problem(format!(
            "is a {other}; a {} service is a {kind}",
            if s.stateful { "stateful" } else { "stateless" }
        ));
    }
    let Some(workload) = m.get(kind, name) else {
        problem(format!(
            "no {kind} {name} in deploy/k8s (every service of xtask/src/services.rs needs one)"
        ));
        return;
    };
    let replicas = workload["spec"]["replicas"].as_i64().unwrap_or(1);
    let template = &workload["spec"]["template"];
    let labels = str_map(&template["metadata"]["labels"]);
    if labels.get(NAME_LABEL).map(String::as_str) != Some(name) {
        problem(format!("the pods are not labelled {NAME_LABEL}={name}"));
    }
    if !selects(&workload["spec"]["selector"], &labels) {
        problem("the workload's selector does not select its own pods".into());
    }
    let containers = template["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(container) = containers.iter().find(|c| c["name"] == name) else {
        problem(format!("no container named {name}"));
        return;
    };
    if s.stateful {
        if replicas != 1 {
            problem(format!(
                "a StatefulSet of {replicas} replicas: SQLite has one writer, so exactly 1"
            ));
        }
        if workload["spec"]["serviceName"] != name {
            problem(format!("serviceName is not {name}"));
        }
        let claims: BTreeSet<&str> = workload["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["metadata"]["name"].as_str())
            .collect();
        let data = container["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["mountPath"] == "/data");
        match data.and_then(|d| d["name"].as_str()) {
            Some(volume) if claims.contains(volume) => {}
            _ => problem("no volume claim template mounted at /data".into()),
        }
    } else {
        if replicas < 2 {
            problem(format!("a Deployment of {replicas} replica(s); at least 2"));
        }
        check_autoscaling(m, name, &labels, &mut problem);
    }
    check_container(
        container,
        &template["spec"],
        s.port,
        name,
        env,
        &mut problem,
    );
    check_environment(container, s, &mut problem);
    check_annotations(&template["metadata"]["annotations"], s.port, &mut problem);
    check_kubernetes_service(m, s, &labels, container, &mut problem);
    check_ingress(m, s, &mut problem);
    check_network(m, s, &labels, &mut problem);
}

fn check_autoscaling(
    m: &Manifests,
    name: &str,
    labels: &BTreeMap<String, String>,
    problem: &mut impl FnMut(String),
) {
    let hpa = m.of_kind("HorizontalPodAutoscaler").find(|h| {
        h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            && h["spec"]["scaleTargetRef"]["name"] == name
    });
    match hpa {
        None => problem("no HorizontalPodAutoscaler for the Deployment".into()),
        Some(h) => {
            if h["apiVersion"] != "autoscaling/v2" {
                problem(format!(
                    "the HPA is {}, not autoscaling/v2",
                    h["apiVersion"]
                ));
            }
            let min = h["spec"]["minReplicas"].as_i64().unwrap_or(1);
            let max = h["spec"]["maxReplicas"].as_i64().unwrap_or(0);
            if min < 2 || max < min {
                problem(format!(
                    "the HPA scales {min}..{max}; at least 2, and max >= min"
                ));
            }
            let on_cpu = h["spec"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["type"] == "Resource" && x["resource"]["name"] == "cpu");
            if !on_cpu {
                problem("the HPA does not scale on CPU".into());
            }
        }
    }
    let pdb = m
        .of_kind("PodDisruptionBudget")
        .find(|b| selects(&b["spec"]["selector"], labels) && !b["spec"]["selector"].is_null());
    match pdb {
        None => problem("no PodDisruptionBudget selects its pods".into()),
        Some(b)
            if b["spec"]["minAvailable"].as_i64().unwrap_or(0) < 1
                && b["spec"]["maxUnavailable"].is_null() =>
        {
            problem("the PodDisruptionBudget keeps no pod available".into())
        }
        Some(_) => {}
    }
}

/// The port a probe or Service names: a number, or the name of one of the container's ports.
fn resolve_port(port: &Value, container: &Value) -> Option<i64> {
    if let Some(n) = port.as_i64() {
        return Some(n);
    }
    let name = port.as_str()?;
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    container["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["containerPort"]
        .as_i64()
}

/// CPU in cores, memory in MiB.
fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?;
    let (number, scale) = [
        ("Ki", 1.0 / 1024.0),
        ("Mi", 1.0),
        ("Gi", 1024.0),
        ("k", 1e3 / 1048576.0),
        ("M", 1e6 / 1048576.0),
        ("G", 1e9 / 1048576.0),
        ("m", 1e-3),
    ]
    .iter()
    .find_map(|(suffix, scale)| s.strip_suffix(suffix).map(|n| (n, *scale)))
    .unwrap_or((s, 1.0));
    number.parse::<f64>().ok().map(|n| n * scale)
}

fn check_container(
    c: &Value,
    pod: &Value,
    port: u16,
    name: &str,
    env: &str,
    problem: &mut impl FnMut(String),
) {
    let image = c["image"].as_str().unwrap_or_default();
    let image_of = if name == JOB { JOB_IMAGE } else { name };
    let prefix = format!("{REGISTRY}/{env}/{image_of}:");
    if image.strip_prefix(&prefix).is_none_or(str::is_empty) {
        problem(format!("image {image} is not {prefix}<tag>"));
    }
    if name != JOB {
        let declared = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["containerPort"].as_i64() == Some(i64::from(port)));
        if !declared {
            problem(format!("the container does not declare port {port}"));
        }
        for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/health")] {
            let get = &c[probe]["httpGet"];
            if get.is_null() {
                problem(format!("no {probe} (httpGet {path})"));
            } else if get["path"] != path || resolve_port(&get["port"], c) != Some(i64::from(port))
            {
                problem(format!(
                    "{probe} is {} on port {}, not {path} on {port}",
                    get["path"], get["port"]
                ));
            }
        }
    }
    check_resources(c, name, problem);
    check_security(c, pod, problem);
}

fn check_resources(c: &Value, name: &str, problem: &mut impl FnMut(String)) {
    let r = &c["resources"];
    let mut get = |kind: &str, what: &str| {
        let q = quantity(&r[kind][what]);
        if q.is_none() {
            problem(format!("no {what} in resources.{kind}"));
        }
        q
    };
    let (cpu_req, cpu_lim) = (get("requests", "cpu"), get("limits", "cpu"));
    let (mem_req, mem_lim) = (get("requests", "memory"), get("limits", "memory"));
    if let (Some(req), Some(lim)) = (cpu_req, cpu_lim)
        && req > lim
    {
        problem(format!("CPU request {req} above its limit {lim}"));
    }
    if name == JOB {
        return;
    }
    // The memory a service may need: its peak under load, or for the hashing service its idle
    // RSS plus one argon2id buffer per slot (a slot per core of the CPU limit, at least 2).
    let need = if name == HASHING {
        let slots = cpu_lim.map_or(f64::INFINITY, |c| c.ceil().max(2.0));
        HASHING_IDLE_MIB + slots * HASHING_SLOT_MIB
    } else {
        PEAK_MIB
    };
    if let Some(req) = mem_req
        && req < need
    {
        problem(format!(
            "memory request {req} MiB below the {need} MiB it needs"
        ));
    }
    if let Some(lim) = mem_lim
        && lim < need * 1.5
    {
        problem(format!(
            "memory limit {lim} MiB leaves less than 50% over the {need} MiB it needs"
        ));
    }
}

/// The restricted Pod Security Standard, as the images' user.
fn check_security(c: &Value, pod: &Value, problem: &mut impl FnMut(String)) {
    let (sc, psc) = (&c["securityContext"], &pod["securityContext"]);
    // A container's setting overrides the pod's.
    let effective = |key: &str| {
        if sc[key].is_null() {
            psc[key].clone()
        } else {
            sc[key].clone()
        }
    };
    for (key, want) in [
        ("runAsNonRoot", json!(true)),
        ("runAsUser", json!(IMAGE_USER)),
        ("runAsGroup", json!(IMAGE_USER)),
    ] {
        if effective(key) != want {
            problem(format!("{key} is {}, not {want}", effective(key)));
        }
    }
    if effective("seccompProfile")["type"] != "RuntimeDefault" {
        problem("seccompProfile is not RuntimeDefault".into());
    }
    if psc["fsGroup"] != json!(IMAGE_USER) {
        problem(format!(
            "the pod's fsGroup is {}, not {IMAGE_USER}",
            psc["fsGroup"]
        ));
    }
    for (key, want) in [
        ("readOnlyRootFilesystem", true),
        ("allowPrivilegeEscalation", false),
    ] {
        if sc[key] != want {
            problem(format!("{key} is {}, not {want}", sc[key]));
        }
    }
    if sc["privileged"] == true {
        problem("privileged".into());
    }
    let drops_all = sc["capabilities"]["drop"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == "ALL"));
    if !drops_all
        || sc["capabilities"]["add"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    {
        problem("capabilities do not drop ALL (and add none)".into());
    }
}

/// Names that hold credentials: they must come from a Secret.
fn looks_secret(name: &str) -> bool {
    ["TOKEN", "KEY", "SECRET", "PASSWORD", "SID"]
        .iter()
        .any(|w| name.split('_').any(|part| part == *w))
}

fn check_environment(c: &Value, s: &Service, problem: &mut impl FnMut(String)) {
    let secrets = xtask::secrets::Secrets::generate().unwrap();
    let expected = s.environment("0.0.0.0", "/data", &secrets, |d| d.name.to_string());
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?, e)))
        .collect();
    for (name, value) in &expected {
        let Some(e) = env.get(name.as_str()) else {
            problem(format!("env {name} is missing"));
            continue;
        };
        if name == "INTERNAL_TOKEN" {
            let r = &e["valueFrom"]["secretKeyRef"];
            if r["name"].is_null() || r["key"].is_null() || r["optional"] == true {
                problem("env INTERNAL_TOKEN does not come from a required Secret key".into());
            }
        } else if e["value"] != value.as_str() {
            problem(format!("env {name} is {}, not {value:?}", e["value"]));
        }
    }
    for (name, e) in &env {
        // An address of a service the table does not say it calls.
        if let Some(dep) = name.strip_suffix("_URL")
            && xtask::services::get(&dep.to_lowercase()).is_ok()
            && !expected.contains_key(*name)
        {
            problem(format!(
                "env {name}: {} does not call {}",
                s.name,
                dep.to_lowercase()
            ));
        }
        if looks_secret(name) && e["valueFrom"]["secretKeyRef"].is_null() {
            problem(format!(
                "env {name} looks like a credential but is not from a Secret"
            ));
        }
    }
}

fn check_annotations(annotations: &Value, port: u16, problem: &mut impl FnMut(String)) {
    let a = str_map(annotations);
    let want = [
        ("prometheus.io/scrape", "true".to_string()),
        ("prometheus.io/port", port.to_string()),
        ("prometheus.io/path", "/metrics".to_string()),
    ];
    for (key, value) in want {
        if a.get(key) != Some(&value) {
            problem(format!("pod annotation {key} is not {value:?}"));
        }
    }
}

/// `http://<name>:<port>` must reach the pods: a Service of that name and port selecting them.
fn check_kubernetes_service(
    m: &Manifests,
    s: &Service,
    labels: &BTreeMap<String, String>,
    container: &Value,
    problem: &mut impl FnMut(String),
) {
    let Some(svc) = m.get("Service", s.name) else {
        problem(format!(
            "no Service {}: http://{}:{} resolves nowhere",
            s.name, s.name, s.port
        ));
        return;
    };
    let selector = &svc["spec"]["selector"];
    if str_map(selector).is_empty() || !selects(&json!({"matchLabels": selector}), labels) {
        problem(format!("Service {} does not select its pods", s.name));
    }
    let routes = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| {
            p["port"].as_i64() == Some(i64::from(s.port))
                && resolve_port(
                    if p["targetPort"].is_null() {
                        &p["port"]
                    } else {
                        &p["targetPort"]
                    },
                    container,
                ) == Some(i64::from(s.port))
        });
    if !routes {
        problem(format!(
            "Service {} does not route port {} to the container's {}",
            s.name, s.port, s.port
        ));
    }
}

fn check_ingress(m: &Manifests, s: &Service, problem: &mut impl FnMut(String)) {
    let backed = m.of_kind("Ingress").any(|i| {
        i["spec"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| {
                r["http"]["paths"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["backend"]["service"]["name"] == s.name)
            })
            || i["spec"]["defaultBackend"]["service"]["name"] == s.name
    });
    match (s.public, backed) {
        (true, false) => problem("public, but no Ingress sends traffic to it".into()),
        (false, true) => problem("internal, but an Ingress exposes it".into()),
        _ => {}
    }
}

/// The services whose `depends_on` or `reaches` name `name`.
fn callers(name: &str) -> BTreeSet<String> {
    SERVICES
        .iter()
        .filter(|c| c.depends_on.iter().chain(c.reaches).any(|d| *d == name))
        .map(|c| c.name.to_string())
        .collect()
}

/// The rules of `direction` (`ingress` or `egress`) of every policy that selects `labels` and
/// governs that direction.
fn rules<'a>(
    m: &'a Manifests,
    labels: &BTreeMap<String, String>,
    direction: &str,
) -> Vec<&'a Value> {
    let policy_type = if direction == "ingress" {
        "Ingress"
    } else {
        "Egress"
    };
    m.of_kind("NetworkPolicy")
        .filter(|np| selects(&np["spec"]["podSelector"], labels))
        .filter(|np| {
            np["spec"]["policyTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == policy_type))
        })
        .flat_map(|np| np["spec"][direction].as_array().into_iter().flatten())
        .collect()
}

/// Does a rule's `ports` admit TCP `port` (no `ports` admits every port)?
fn admits_port(rule: &Value, port: u16) -> bool {
    match rule["ports"].as_array() {
        None => true,
        Some(ports) => ports.iter().any(|p| {
            p["port"].as_i64() == Some(i64::from(port))
                && (p["protocol"].is_null() || p["protocol"] == "TCP")
        }),
    }
}

fn check_network(
    m: &Manifests,
    s: &Service,
    labels: &BTreeMap<String, String>,
    problem: &mut impl FnMut(String),
) {
    let ingress = rules(m, labels, "ingress");
    if s.public {
        let open = ingress
            .iter()
            .any(|r| r["from"].as_array().is_none_or(|f| f.is_empty()) && admits_port(r, s.port));
        if !open {
            problem(format!(
                "public, but no network policy admits everyone on port {}",
                s.port
            ));
        }
    } else {
        let mut allowed = BTreeSet::new();
        let mut scraped = false;
        for r in &ingress {
            let Some(from) = r["from"].as_array().filter(|f| !f.is_empty()) else {
                problem("a network policy admits every source".into());
                continue;
            };
            let ports: Vec<i64> = r["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["port"].as_i64())
                .collect();
            if ports != [i64::from(s.port)] {
                problem(format!(
                    "an ingress rule admits ports {ports:?}, not only {}",
                    s.port
                ));
            }
            for peer in from {
                let pod = &peer["podSelector"];
                let ns = &peer["namespaceSelector"];
                let scrape = str_map(&ns["matchLabels"]);
                if !peer["ipBlock"].is_null() {
                    problem("an ingress rule admits an address block".into());
                } else if ns.is_null() {
                    match pod["matchLabels"][NAME_LABEL].as_str() {
                        Some(caller)
                            if str_map(&pod["matchLabels"]).len() == 1
                                && pod["matchExpressions"].is_null() =>
                        {
                            allowed.insert(caller.to_string());
                        }
                        _ => problem(format!("an ingress peer selects pods too broadly: {pod}")),
                    }
                } else if pod.is_null()
                    && scrape.len() == 1
                    && scrape.get(SCRAPE_LABEL.0).map(String::as_str) == Some(SCRAPE_LABEL.1)
                    && ns["matchExpressions"].is_null()
                {
                    scraped = true;
                } else {
                    problem(format!("an ingress peer admits other namespaces: {peer}"));
                }
            }
        }
        let mut expected = callers(s.name);
        if s.name == JOB_IMAGE {
            expected.insert(JOB.to_string());
        }
        if allowed != expected {
            problem(format!(
                "the callers allowed in are {allowed:?}; the table says {expected:?} (callers are the services whose depends_on or reaches name it)"
            ));
        }
        if !scraped {
            problem(format!(
                "Prometheus (namespaces labelled {}={}) cannot scrape port {}",
                SCRAPE_LABEL.0, SCRAPE_LABEL.1, s.port
            ));
        }
    }
    check_egress(
        m,
        s.name,
        labels,
        s.depends_on.iter().chain(s.reaches).copied(),
        problem,
    );
}

/// The pods of `labels` may resolve names and reach each of `targets` on its port.
fn check_egress<'t>(
    m: &Manifests,
    who: &str,
    labels: &BTreeMap<String, String>,
    targets: impl Iterator<Item = &'t str>,
    problem: &mut impl FnMut(String),
) {
    let egress = rules(m, labels, "egress");
    let dns = egress.iter().any(|r| {
        r["ports"].as_array().is_none_or(|ports| {
            ports
                .iter()
                .any(|p| p["port"].as_i64() == Some(53) && p["protocol"] == "UDP")
        })
    });
    if !dns {
        problem(format!("{who} may not reach DNS (UDP 53)"));
    }
    for target in targets {
        let Ok(dep) = xtask::services::get(target) else {
            continue;
        };
        let dep_labels = pod_labels(dep.name);
        let reaches = egress.iter().any(|r| {
            admits_port(r, dep.port)
                && r["to"].as_array().is_none_or(|to| {
                    to.is_empty()
                        || to.iter().any(|peer| {
                            peer["namespaceSelector"].is_null()
                                && peer["ipBlock"].is_null()
                                && selects(&peer["podSelector"], &dep_labels)
                        })
                })
        });
        if !reaches {
            problem(format!(
                "{who} may not reach {} on port {} (egress)",
                dep.name, dep.port
            ));
        }
    }
}

fn check_default_deny(m: &Manifests, p: &mut Vec<String>) {
    let deny = m.of_kind("NetworkPolicy").any(|np| {
        let spec = &np["spec"];
        let types: BTreeSet<&str> = spec["policyTypes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        str_map(&spec["podSelector"]).is_empty()
            && spec["podSelector"]["matchExpressions"].is_null()
            && types.contains("Ingress")
            && types.contains("Egress")
            && spec["ingress"].as_array().is_none_or(|r| r.is_empty())
            && spec["egress"].as_array().is_none_or(|r| r.is_empty())
    });
    if !deny {
        p.push(
            "no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)".into(),
        );
    }
}

/// The Job that loads the permission table, and the ConfigMap it reads.
fn check_job(m: &Manifests, env: &str, p: &mut Vec<String>) {
    let root = xtask::paths::root();
    let shipped = std::fs::read_to_string(root.join("db_config.yaml")).unwrap();
    let maps: Vec<&Value> = m
        .of_kind("ConfigMap")
        .filter(|c| !c["data"]["db_config.yaml"].is_null())
        .collect();
    let [map] = maps[..] else {
        p.push(format!(
            "{} ConfigMaps hold db_config.yaml; exactly one should",
            maps.len()
        ));
        return;
    };
    if map["data"]["db_config.yaml"].as_str() != Some(shipped.as_str()) {
        p.push(
            "the permission ConfigMap's db_config.yaml differs from the repository's db_config.yaml: `cp db_config.yaml deploy/k8s/base/`"
                .into(),
        );
    }
    let map_name = map["metadata"]["name"].as_str().unwrap_or_default();
    let Some(job) = m.get("Job", JOB) else {
        p.push(format!(
            "no Job {JOB}: nothing loads db_config.yaml into users"
        ));
        return;
    };
    let mut problem = |text: String| p.push(format!("{JOB}: {text}"));
    let pod = &job["spec"]["template"];
    let labels = str_map(&pod["metadata"]["labels"]);
    if labels.get(NAME_LABEL).map(String::as_str) != Some(JOB) {
        problem(format!("the pod is not labelled {NAME_LABEL}={JOB}"));
    }
    let Some(c) = pod["spec"]["containers"].get(0) else {
        problem("no container".into());
        return;
    };
    check_container(c, &pod["spec"], 0, JOB, env, &mut problem);
    let volume = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["configMap"]["name"] == map_name)
        .and_then(|v| v["name"].as_str());
    let mount = c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| volume.is_some() && v["name"].as_str() == volume)
        .and_then(|v| v["mountPath"].as_str());
    let args: Vec<&str> = c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let users = xtask::services::get(JOB_IMAGE).unwrap();
    let flag = |f: &str| {
        args.iter()
            .position(|a| *a == f)
            .and_then(|i| args.get(i + 1))
            .copied()
    };
    match mount {
        None => problem(format!("does not mount the ConfigMap {map_name}")),
        Some(dir) => {
            let file = format!("{}/db_config.yaml", dir.trim_end_matches('/'));
            if args.first() != Some(&"load-permissions")
                || flag("--from-file") != Some(file.as_str())
            {
                problem(format!(
                    "args {args:?} are not `load-permissions --from-file {file} …`"
                ));
            }
        }
    }
    let url = format!("http://{}:{}", users.name, users.port);
    if flag("--url") != Some(url.as_str()) {
        problem(format!("args {args:?} do not name --url {url}"));
    }
    let token = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "INTERNAL_TOKEN");
    if token.is_none_or(|t| t["valueFrom"]["secretKeyRef"]["name"].is_null()) {
        problem("env INTERNAL_TOKEN does not come from a Secret".into());
    }
    check_egress(m, JOB, &labels, [users.name].into_iter(), &mut problem);
}

/// Every Secret the manifests read is in docs/deploy.md, with its keys, so that an operator
/// knows what to create.
fn check_documented_secrets(m: &Manifests, p: &mut Vec<String>) {
    let docs =
        std::fs::read_to_string(xtask::paths::root().join("docs/deploy.md")).unwrap_or_default();
    let mut referenced = BTreeSet::new();
    for (_, _, template) in m.pod_templates() {
        for c in template["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for e in c["env"].as_array().into_iter().flatten() {
                let r = &e["valueFrom"]["secretKeyRef"];
                if let (Some(name), Some(key)) = (r["name"].as_str(), r["key"].as_str()) {
                    referenced.insert((name.to_string(), key.to_string()));
                }
            }
        }
    }
    for (name, key) in referenced {
        if !docs.contains(&format!("`{name}`")) || !docs.contains(&format!("`{key}`")) {
            p.push(format!(
                "Secret {name} (key {key}) is not documented in docs/deploy.md"
            ));
        }
    }
}
