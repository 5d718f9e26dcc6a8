//! System tests of the whole product: the real users, venues, reservations, points, opinions,
//! summaries, stats and communications services and the real gateway on loopback listeners
//! (temporary data directories, one internal token, each service given the others' URLs),
//! driven with the client apps' exact requests (`client-contract.md` J6, J7, J13, J14, E18–E22).
//! The notifications are read from the communications service's embedded outbox
//! (its internal `GET /messages?to=<uid>`), texts byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::Parser;
use common::live::{Account, Apps, Server, rebind};
use common::{INTERNAL_TOKEN, eventually};
use reqwest::Method;
use serde_json::{Value, json};

/// A service's command line: its data directory, the internal token, then `urls`.
fn args(name: &str, data: &Path, urls: &[(&str, &str)]) -> Vec<String> {
    let mut args = vec![
        name.to_string(),
        "--data-dir".into(),
        data.to_str().unwrap().to_string(),
        "--internal-token".into(),
        INTERNAL_TOKEN.into(),
    ];
    for (flag, url) in urls {
        args.extend([flag.to_string(), url.to_string()]);
    }
    args
}

fn stats_config(data: &Path) -> stats::Config {
    stats::Config::parse_from(args("stats", data, &[]))
}

fn communications_config(data: &Path, venues: &str) -> communications::Config {
    communications::Config::parse_from(args("communications", data, &[("--venues-url", venues)]))
}

/// Every service, each with its own data directory; stats and communications can be
/// stopped and started again on their data.
struct Cluster {
    apps: Apps,
    stats: Server,
    stats_data: PathBuf,
    communications: Server,
    communications_data: PathBuf,
    venues_url: String,
    _servers: Vec<Server>,
    _data: tempfile::TempDir,
}

/// The cluster is called the way the apps call the gateway.
impl std::ops::Deref for Cluster {
    type Target = Apps;
    fn deref(&self) -> &Apps {
        &self.apps
    }
}

impl Cluster {
    async fn start() -> Cluster {
        let data = tempfile::tempdir().unwrap();
        let dir = |name: &str| {
            let path = data.path().join(name);
            std::fs::create_dir_all(&path).unwrap();
            path
        };
        let mut listeners = Vec::new();
        for _ in 0..8 {
            listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let urls: Vec<String> = listeners
            .iter()
            .map(|l| format!("http://{}", l.local_addr().unwrap()))
            .collect();
        let [
            users,
            venues,
            reservations,
            points,
            opinions,
            summaries,
            stats,
            communications,
        ] = std::array::from_fn(|i| urls[i].as_str());
        let mut listeners = listeners.into_iter();
        let mut next = || listeners.next().unwrap();

        let users_router = users::build(&users::Config::parse_from(args(
            "users",
            &dir("users"),
            &[("--communications-url", communications)],
        )))
        .await
        .unwrap();
        let venues_router = venues::build(&venues::Config::parse_from(args(
            "venues",
            &dir("venues"),
            &[],
        )))
        .await
        .unwrap();
        let reservations_router = reservations::build(&reservations::Config::parse_from(args(
            "reservations",
            &dir("reservations"),
            &[
                ("--venues-url", venues),
                ("--users-url", users),
                ("--points-url", points),
                ("--stats-url", stats),
                ("--communications-url", communications),
                ("--opinions-url", opinions),
            ],
        )))
        .await
        .unwrap();
        let points_router = points::build(&points::Config::parse_from(args(
            "points",
            &dir("points"),
            &[],
        )))
        .await
        .unwrap();
        let opinions_router = opinions::build(&opinions::Config::parse_from(args(
            "opinions",
            &dir("opinions"),
            &[
                ("--reservations-url", reservations),
                ("--points-url", points),
                ("--communications-url", communications),
                ("--summaries-url", summaries),
            ],
        )))
        .await
        .unwrap();
        let summaries_router = summaries::build(&summaries::Config::parse_from(args(
            "summaries",
            &dir("summaries"),
            &[("--opinions-url", opinions)],
        )))
        .await
        .unwrap();
        let stats_data = dir("stats");
        let stats_router = stats::build(&stats_config(&stats_data)).await.unwrap();
        let communications_data = dir("communications");
        let communications_router =
            communications::build(&communications_config(&communications_data, venues))
                .await
                .unwrap();

        let mut servers = vec![
            Server::on(next(), users_router),
            Server::on(next(), venues_router),
            Server::on(next(), reservations_router),
            Server::on(next(), points_router),
            Server::on(next(), opinions_router),
            Server::on(next(), summaries_router),
        ];
        let stats_server = Server::on(next(), stats_router);
        let communications_server = Server::on(next(), communications_router);

        let gateway = gateway::build(&gateway::Config::parse_from([
            "gateway",
            "--users-url",
            users,
            "--venues-url",
            venues,
            "--reservations-url",
            reservations,
            "--points-url",
            points,
            "--opinions-url",
            opinions,
            "--summaries-url",
            summaries,
            "--stats-url",
            stats,
            "--internal-token",
            INTERNAL_TOKEN,
            "--permissions-refresh-secs",
            "1",
        ]))
        .await
        .unwrap();
        let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = Server::on(gateway_listener, gateway);
        let gateway_url = gateway.url();
        servers.push(gateway);
        Cluster {
            apps: Apps::new(gateway_url),
            stats: stats_server,
            stats_data,
            communications: communications_server,
            communications_data,
            venues_url: venues.to_string(),
            _servers: servers,
            _data: data,
        }
    }

    /// Stops stats and communications (their routers and background tasks go with them).
    async fn stop_stats_and_communications(&mut self) {
        self.stats.shut_down().await;
        self.communications.shut_down().await;
    }

    /// Starts stats and communications again, on their ports and their data.
    async fn restart_stats_and_communications(&mut self) {
        let listener = rebind(self.stats.addr).await;
        let router = stats::build(&stats_config(&self.stats_data)).await.unwrap();
        self.stats = Server::on(listener, router);
        let listener = rebind(self.communications.addr).await;
        let config = communications_config(&self.communications_data, &self.venues_url);
        let router = communications::build(&config).await.unwrap();
        self.communications = Server::on(listener, router);
    }

    /// Signs up `who` on the embedded identity provider and registers the profile (E1) with
    /// the phone `number`.
    async fn account(&self, who: &str, user_type: &str, number: &str) -> Account {
        let email = format!("{who}@example.com");
        let (status, session) = self
            .call(
                Method::POST,
                "/auth/signup",
                None,
                Some(json!({"email": email, "password": "una clave larga"})),
            )
            .await;
        assert_eq!(status, 200, "{session}");
        let account = Account {
            uid: session["localId"].as_str().unwrap().to_string(),
            token: session["idToken"].as_str().unwrap().to_string(),
        };
        let registration = json!({"user_type": user_type, "name": who, "number": number});
        let (status, body) = self.post("/users", &account, registration).await;
        assert_eq!(status, 200, "{body}");
        account
    }

    /// A restaurant with its venue named `name` (E5 as the portal sends it).
    async fn restaurant(&self, who: &str, name: &str, number: &str) -> Account {
        let resto = self.account(who, "restaurant", number).await;
        let form = json!({
            "id": resto.uid, "status": {"status": "Unconfirmed"},
            "name": name, "location": "-34.6037,-58.3816", "capacity": 20,
            "reservationLeadTime": 1, "logo": "https://storage.example/logo.png", "menu": "",
            "pictures": [], "characteristics": ["Pizzas"], "features": ["Wifi"],
            "slots": ["2024-05-01T23:00:27.123Z"], "vacations": []
        });
        let (status, body) = self.post("/venues", &resto, form).await;
        assert_eq!(status, 200, "{body}");
        resto
    }

    /// Books for `who` (E11 as the apps send it); the reservation's id.
    async fn book(
        &self,
        who: &Account,
        venue: &Account,
        time: DateTime<Utc>,
        people: i64,
    ) -> String {
        let body = json!({"people": people, "venue": venue.uid, "time": client_time(time)});
        let (status, booked) = self.post("/reservations", who, body).await;
        assert_eq!(status, 200, "{booked}");
        booked["id"].as_str().unwrap().to_string()
    }

    /// `PUT /reservations/{id}` as `who`, which must succeed; the new status.
    async fn change(&self, who: &Account, id: &str, body: Value) -> String {
        let (status, answer) = self.put(&format!("/reservations/{id}"), who, body).await;
        assert_eq!(status, 200, "{answer}");
        answer["status"]["status"].as_str().unwrap().to_string()
    }

    /// `GET /users` of `who`.
    async fn profile(&self, who: &Account) -> Value {
        let (status, body) = self.get("/users", Some(who)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Polls until `who` has `total` points.
    async fn until_points(&self, who: &Account, total: i64) -> bool {
        eventually(Duration::from_secs(10), || async {
            self.profile(who).await["points"]["total"] == total
        })
        .await
    }

    /// An internal call to the communications service.
    async fn communications_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.communications.url()))
            .header(chefcito::INTERNAL_TOKEN_HEADER, INTERNAL_TOKEN)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The number communications holds for `who` (`None` before it heard of them).
    async fn phone_of(&self, who: &Account) -> Option<String> {
        let (status, body) = self
            .communications_get(&format!("/users/{}/phone", who.uid))
            .await;
        (status == 200).then(|| body["phone"].as_str().unwrap().to_string())
    }

    /// Polls until communications holds `phone` for `who`.
    async fn until_phone(&self, who: &Account, phone: &str) {
        let known = eventually(Duration::from_secs(10), || async {
            self.phone_of(who).await.as_deref() == Some(phone)
        })
        .await;
        assert!(known, "{:?}", self.phone_of(who).await);
    }

    /// Every message to `who`: `(phone, status, body)`, sorted.
    async fn messages(&self, who: &Account) -> Vec<(String, String, String)> {
        let (status, page) = self
            .communications_get(&format!("/messages?to={}&limit=1000", who.uid))
            .await;
        assert_eq!(status, 200, "{page}");
        let mut messages: Vec<_> = page["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["to"], who.uid.as_str());
                let text = |key: &str| m[key].as_str().unwrap().to_string();
                (text("phone"), text("status"), text("body"))
            })
            .collect();
        messages.sort();
        messages
    }

    /// Polls until each account got exactly its messages (any order, every one sent to its
    /// number); then waits a little longer to see that nothing more arrives.
    async fn assert_messages(&self, expected: &[(&Account, &str, &[String])]) {
        let expected: Vec<(&Account, Vec<_>)> = expected
            .iter()
            .map(|(who, phone, bodies)| {
                let mut list: Vec<_> = bodies
                    .iter()
                    .map(|body| (phone.to_string(), "sent".to_string(), body.clone()))
                    .collect();
                list.sort();
                (*who, list)
            })
            .collect();
        let all_arrived = || async {
            for (who, list) in &expected {
                if self.messages(who).await != *list {
                    return false;
                }
            }
            true
        };
        // Once everything arrived, a late duplicate would land within the dispatcher's
        // one-second poll: give it that chance before the final comparison.
        if eventually(Duration::from_secs(20), all_arrived).await {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        for (who, list) in &expected {
            assert_eq!(self.messages(who).await, *list, "messages to {}", who.uid);
        }
    }

    /// `GET /stats/venue/{v}` as its owner, polled until its `total` is `total`.
    async fn until_venue_total(&self, resto: &Account, total: i64) -> Value {
        let path = format!("/stats/venue/{}", resto.uid);
        let reached = eventually(Duration::from_secs(20), || async {
            self.get(&path, Some(resto)).await.1["total"] == total
        })
        .await;
        let (status, stats) = self.get(&path, Some(resto)).await;
        assert!(reached && status == 200, "{status}: {stats}");
        stats
    }
}

/// moment's `toISOString()`: UTC, milliseconds, `Z`.
fn client_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A day a few days ahead, so every booking is in the future.
fn booking_day() -> NaiveDate {
    (Utc::now() + chrono::Duration::days(3)).date_naive()
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

/// The date a notification prints for `time`: Argentina's (UTC−3).
fn local_date(time: DateTime<Utc>) -> String {
    (time - chrono::Duration::hours(3))
        .format("%Y-%m-%d")
        .to_string()
}

// The notifications, byte for byte (original-opinions-summaries-stats-comms §5.4).

fn created_to_diner(time: DateTime<Utc>) -> String {
    format!(
        "Tu reserva para el dia {} fue creada con exito!",
        local_date(time)
    )
}

fn created_to_venue(time: DateTime<Utc>) -> String {
    format!(
        "Crearon una nueva reserva para el dia {}, podes verla agregada en la web!",
        local_date(time)
    )
}

fn changed_to_venue(id: &str, time: DateTime<Utc>) -> String {
    format!(
        "Tienes una modeficacion en la reserva ({id}): del dia {}!\nPodes ver las modificaciones de la reserva en la web",
        local_date(time)
    )
}

fn changed_to_diner(venue_name: &str, status: &str) -> String {
    let text = match status {
        "Accepted" => "La reserva fue aceptada por el local!",
        "Canceled" => "Tu reserva a sido cancelada.",
        "Assisted" => {
            "Esperamos que disfrutes tu experiencia ! No te olvides de dejar una reseña luego."
        }
        "Expired" => "Tu reserva a expirado!",
        other => panic!("no message for {other}"),
    };
    format!("Tienes un cambio de estado en tu reserva en {venue_name}!\n{text}")
}

const OPINION_TO_VENUE: &str =
    "Tenes una nueva opinion en tu local!\nPodes revisarla en nuestra web";

const PLACEHOLDERS: [&str; 2] = [
    "Este restaurant aun no tiene un resumen de opiniones disponible",
    "No hay un resumen para este restaurant aun",
];

#[tokio::test]
async fn j13_j6_j7_a_visit_from_booking_to_review_with_its_notifications() {
    let c = Cluster::start().await;
    let resto = c.restaurant("esquina", "La Esquina", "11 4000-1000").await;
    let ana = c.account("ana", "client", "1155556666").await;
    let luis = c.account("luis", "client", "").await;
    let v = resto.uid.as_str();
    // Registration hands the numbers to communications (normalised, mobile form).
    c.until_phone(&ana, "+5491155556666").await;
    c.until_phone(&resto, "+5491140001000").await;
    c.until_phone(&luis, "").await;

    // J6 before any review: no opinions, the summary's placeholder with a 200 (H10).
    let reviews = format!("/opinions?&start=0&limit=100000&venue={v}");
    let summary = format!("/summaries/{v}");
    let (status, page) = c.get(&reviews, Some(&resto)).await;
    assert_eq!((status, page), (200, json!({"result": [], "total": 0})));
    let (status, body) = c.get(&summary, Some(&resto)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        PLACEHOLDERS.contains(&body["text"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(body["venue"], v);

    // Book, accept, check in (J5, J13).
    let day = booking_day();
    let time = at(day, 23);
    let id = c.book(&ana, &resto, time, 2).await;
    let review = json!({"reservation": id, "opinion": "Muy rica la pizza. Volvería sin dudas.",
                        "venue": v, "date": client_time(Utc::now())});
    // Not yet: the review is accepted only after the check-in.
    let (status, body) = c.post("/opinions", &ana, review.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        c.change(&resto, &id, json!({"advance_forward": true}))
            .await,
        "Accepted"
    );
    assert_eq!(c.post("/opinions", &ana, review.clone()).await.0, 400);
    assert_eq!(
        c.change(&ana, &id, json!({"advance_forward": true})).await,
        "Assisted"
    );
    assert!(c.until_points(&ana, 50).await);

    // Nobody else reviews that visit: another diner does not see it, the venue is not its
    // diner; the venue must be the reservation's.
    assert_eq!(c.post("/opinions", &luis, review.clone()).await.0, 404);
    assert_eq!(c.post("/opinions", &resto, review.clone()).await.0, 403);
    let mut elsewhere = review.clone();
    elsewhere["venue"] = json!("otro-local");
    assert_eq!(c.post("/opinions", &ana, elsewhere).await.0, 400);

    // E18: the review, then no second one.
    let (status, opinion) = c.post("/opinions", &ana, review.clone()).await;
    assert_eq!(status, 200, "{opinion}");
    assert_eq!(
        (
            &opinion["venue"],
            &opinion["reservation"],
            &opinion["opinion"]
        ),
        (&json!(v), &json!(id), &review["opinion"])
    );
    let date = opinion["date"].as_str().unwrap();
    assert!(!date.ends_with('Z'), "opinions print naive UTC: {date}");
    let age = Utc::now() - chefcito::time::parse(date).unwrap();
    assert!(age < chrono::Duration::minutes(1), "{date}");
    let (status, body) = c.post("/opinions", &ana, review.clone()).await;
    assert_eq!(status, 409, "{body}");
    // +50 for the check-in, +50 for the review, once.
    assert!(c.until_points(&ana, 100).await, "{}", c.profile(&ana).await);

    // J6: E19 as the portal and as the mobile app ask, and E20 once the summary is written.
    let (status, page) = c.get(&reviews, Some(&resto)).await;
    assert_eq!(
        (status, page),
        (200, json!({"result": [opinion], "total": 1}))
    );
    let mobile = format!("/opinions?venue={v}&limit=10&start=0");
    assert_eq!(c.get(&mobile, Some(&ana)).await.1["result"][0], opinion);
    let one = format!("/opinions?reservation={id}");
    assert_eq!(c.get(&one, Some(&ana)).await.1["total"], 1);
    let written = eventually(Duration::from_secs(15), || async {
        let (_, body) = c.get(&summary, Some(&ana)).await;
        !PLACEHOLDERS.contains(&body["text"].as_str().unwrap_or(""))
    })
    .await;
    let (status, body) = c.get(&summary, Some(&ana)).await;
    assert!(written && status == 200, "{body}");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("Resumen de una opinión."), "{text}");
    assert!(text.contains("Muy rica la pizza."), "{text}");
    assert_eq!(body["venue"], v);
    // Only the owner asks for a new one.
    assert_eq!(c.post(&summary, &ana, json!({})).await.0, 403);
    let (status, body) = c.post(&summary, &resto, json!({})).await;
    assert!(status == 200 || status == 202, "{status}: {body}");
    assert_eq!(body["venue"], v);

    // J7: E21 and E13 without dates.
    let stats = c.until_venue_total(&resto, 1).await;
    let weekday = time.weekday().num_days_from_monday().to_string();
    assert_eq!(
        stats,
        json!({"venue": v, "total": 1, "canceled": 0.0, "expired": 0.0, "people": 2.0,
               "days": {"means": {weekday: 1}}, "turns": {"turns": {"23:00": 1}}})
    );
    let (status, listing) = c
        .get("/reservations/venue?start=0&limit=100000", Some(&resto))
        .await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["result"][0]["user"]["times_assisted"], 1);
    assert_eq!(listing["opinions"][&id], opinion);
    // E21 is the owner's only.
    let other = c.restaurant("otro", "Otro", "").await;
    assert_eq!(
        c.get(&format!("/stats/venue/{v}"), Some(&other)).await.0,
        403
    );
    assert_eq!(c.get(&format!("/stats/venue/{v}"), Some(&ana)).await.0, 403);

    // E22 (J5): any restaurant reads a diner's flags (H2), the diner their own, not another
    // diner; an unknown user is zeros.
    let flags = format!("/stats/user/{}", ana.uid);
    let expected = json!({"user": ana.uid, "total": 1, "canceled": 0.0, "expired": 0.0,
                          "expired_alert": false, "canceled_alert": false});
    for reader in [&resto, &other, &ana] {
        assert_eq!(c.get(&flags, Some(reader)).await, (200, expected.clone()));
    }
    assert_eq!(c.get(&flags, Some(&luis)).await.0, 403);
    let (status, nobody) = c.get("/stats/user/nadie", Some(&resto)).await;
    assert_eq!(
        (status, &nobody["total"], &nobody["canceled_alert"]),
        (200, &json!(0), &json!(false))
    );

    // The notifications of the whole cycle, to the right people, byte for byte.
    let to_ana = [
        created_to_diner(time),
        changed_to_diner("La Esquina", "Accepted"),
        changed_to_diner("La Esquina", "Assisted"),
    ];
    let to_resto = [
        created_to_venue(time),
        changed_to_venue(&id, time),
        changed_to_venue(&id, time),
        OPINION_TO_VENUE.to_string(),
    ];
    c.assert_messages(&[
        (&ana, "+5491155556666", &to_ana),
        (&resto, "+5491140001000", &to_resto),
    ])
    .await;
    assert!(c.messages(&luis).await.is_empty());
}

#[tokio::test]
async fn j14_the_diner_profile_and_the_number_notifications_go_to() {
    let c = Cluster::start().await;
    let resto = c.restaurant("esquina", "La Esquina", "").await;
    let ana = c.account("ana", "client", "1155556666").await;

    // E2: profile and points.
    let profile = c.profile(&ana).await;
    assert_eq!(
        profile,
        json!({"data": {"localid": ana.uid, "email": "ana@example.com", "name": "ana",
                        "phone_number": "1155556666"},
               "points": {"user": ana.uid, "total": 0, "level": "Novato"}})
    );
    c.until_phone(&ana, "+5491155556666").await;

    // E3 with both keys, as the app sends them; the reply has E2's shape.
    let (status, edited) = c
        .put(
            "/users",
            &ana,
            json!({"name": "Ana María", "phone": "011 15 4444-3333"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["data"]["name"], "Ana María");
    assert_eq!(edited["data"]["phone_number"], "011 15 4444-3333");
    assert_eq!(edited["points"], profile["points"]);
    assert_eq!(c.profile(&ana).await, edited);
    // The new number reaches communications, and the next notification goes there.
    c.until_phone(&ana, "+5491144443333").await;
    let time = at(booking_day(), 22);
    let id = c.book(&ana, &resto, time, 4).await;
    c.assert_messages(&[(&ana, "+5491144443333", &[created_to_diner(time)])])
        .await;
    // The restaurant gave no number: its notification is recorded, not sent.
    let (status, page) = c
        .communications_get(&format!("/messages?to={}", resto.uid))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["result"][0]["status"], "skipped");
    assert_eq!(page["result"][0]["body"], created_to_venue(time));

    // Points show up in E2 as the visit goes on (level names of the original).
    c.change(&resto, &id, json!({"advance_forward": true}))
        .await;
    c.change(&ana, &id, json!({"advance_forward": true})).await;
    assert!(c.until_points(&ana, 50).await);
    let review = json!({"reservation": id, "opinion": "Excelente atención", "venue": resto.uid});
    assert_eq!(c.post("/opinions", &ana, review).await.0, 200);
    assert!(c.until_points(&ana, 100).await);
    assert_eq!(
        c.profile(&ana).await["points"],
        json!({"user": ana.uid, "total": 100, "level": "Aficionado Gourmet"})
    );
}

#[tokio::test]
async fn a_stats_and_communications_outage_delays_counts_and_messages_but_never_loses_or_doubles_them()
 {
    let mut c = Cluster::start().await;
    let resto = c.restaurant("esquina", "La Esquina", "11 4000-1000").await;
    let ana = c.account("ana", "client", "1155556666").await;
    let luis = c.account("luis", "client", "1122223333").await;
    c.until_phone(&ana, "+5491155556666").await;
    c.until_phone(&luis, "+5491122223333").await;
    c.until_phone(&resto, "+5491140001000").await;

    // Before the outage: three bookings, all accepted, their notifications delivered.
    let day = booking_day();
    let (a1_time, a2_time, l1_time) = (at(day, 21), at(day, 23), at(day, 22));
    let a1 = c.book(&ana, &resto, a1_time, 2).await;
    let a2 = c.book(&ana, &resto, a2_time, 3).await;
    let l1 = c.book(&luis, &resto, l1_time, 5).await;
    for id in [&a1, &a2, &l1] {
        assert_eq!(
            c.change(&resto, id, json!({"advance_forward": true})).await,
            "Accepted"
        );
    }
    let accepted = changed_to_diner("La Esquina", "Accepted");
    let mut to_ana = vec![
        created_to_diner(a1_time),
        created_to_diner(a2_time),
        accepted.clone(),
        accepted.clone(),
    ];
    let mut to_luis = vec![created_to_diner(l1_time), accepted.clone()];
    let mut to_resto = vec![
        created_to_venue(a1_time),
        created_to_venue(a2_time),
        created_to_venue(l1_time),
        changed_to_venue(&a1, a1_time),
        changed_to_venue(&a2, a2_time),
        changed_to_venue(&l1, l1_time),
    ];
    c.assert_messages(&[
        (&ana, "+5491155556666", &to_ana),
        (&luis, "+5491122223333", &to_luis),
        (&resto, "+5491140001000", &to_resto),
    ])
    .await;
    // Nothing is final yet: nothing counted.
    assert_eq!(c.until_venue_total(&resto, 0).await["total"], 0);

    // Stats and communications go away while reservations keep changing.
    c.stop_stats_and_communications().await;
    assert_eq!(
        c.change(&ana, &a1, json!({"advance_forward": true})).await,
        "Assisted"
    );
    assert_eq!(
        c.change(&resto, &a2, json!({"cancel": true})).await,
        "Canceled"
    );
    assert_eq!(
        c.change(&luis, &l1, json!({"cancel": true})).await,
        "Canceled"
    );
    let a3_time = at(day + chrono::Duration::days(1), 20);
    c.book(&ana, &resto, a3_time, 2).await;
    // The dashboards say the stats service is unavailable; bookings never waited for it.
    let (status, body) = c
        .get(&format!("/stats/venue/{}", resto.uid), Some(&resto))
        .await;
    assert_eq!(status, 503, "{body}");
    let flags = format!("/stats/user/{}", ana.uid);
    assert_eq!(c.get(&flags, Some(&resto)).await.0, 503);
    // Points did not wait either.
    assert!(c.until_points(&ana, 50).await);

    // Back on the same ports and data: everything arrives, once.
    c.restart_stats_and_communications().await;
    let stats = c.until_venue_total(&resto, 3).await;
    let weekday = a1_time.weekday().num_days_from_monday().to_string();
    assert_eq!(
        stats,
        json!({"venue": resto.uid, "total": 3, "canceled": 0.67, "expired": 0.0,
               "people": 2.0, "days": {"means": {weekday: 1}}, "turns": {"turns": {"21:00": 1}}})
    );
    assert_eq!(
        c.get(&flags, Some(&resto)).await,
        (
            200,
            json!({"user": ana.uid, "total": 2, "canceled": 0.5, "expired": 0.0,
                   "expired_alert": false, "canceled_alert": false})
        )
    );
    let luis_flags = format!("/stats/user/{}", luis.uid);
    assert_eq!(
        c.get(&luis_flags, Some(&luis)).await,
        (
            200,
            json!({"user": luis.uid, "total": 1, "canceled": 1.0, "expired": 0.0,
                   "expired_alert": false, "canceled_alert": true})
        )
    );
    to_ana.extend([
        changed_to_diner("La Esquina", "Assisted"),
        changed_to_diner("La Esquina", "Canceled"),
        created_to_diner(a3_time),
    ]);
    to_luis.push(changed_to_diner("La Esquina", "Canceled"));
    to_resto.extend([
        changed_to_venue(&a1, a1_time),
        changed_to_venue(&a2, a2_time),
        changed_to_venue(&l1, l1_time),
        created_to_venue(a3_time),
    ]);
    c.assert_messages(&[
        (&ana, "+5491155556666", &to_ana),
        (&luis, "+5491122223333", &to_luis),
        (&resto, "+5491140001000", &to_resto),
    ])
    .await;
    // Counted once: a late redelivery changed nothing.
    assert_eq!(c.until_venue_total(&resto, 3).await, stats);
}
