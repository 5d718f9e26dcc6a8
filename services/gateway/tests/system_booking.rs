//! System tests of booking: the real users, venues, reservations and points services and the
//! real gateway on loopback listeners (temporary data directories, one internal token),
//! driven with the client apps' exact requests (`client-contract.md` J4, J5, J10–J13):
//! `?&` query strings, `…Z` datetimes with milliseconds, extra body keys, `limit=100000`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Parser;
use common::live::{Account, Apps, Server, rebind};
use common::{INTERNAL_TOKEN, eventually};
use reqwest::Method;
use serde_json::{Value, json};

fn service_args<'a>(name: &'a str, data: &'a std::path::Path) -> Vec<String> {
    vec![
        name.to_string(),
        "--data-dir".into(),
        data.to_str().unwrap().to_string(),
        "--internal-token".into(),
        INTERNAL_TOKEN.into(),
    ]
}

/// A base URL where nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9";

fn points_config(data: &std::path::Path) -> points::Config {
    points::Config::parse_from(service_args("points", data))
}

/// Every service of a booking, each with its own data directory.
struct Cluster {
    apps: Apps,
    points: Server,
    points_data: PathBuf,
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
        let listen = || tokio::net::TcpListener::bind("127.0.0.1:0");
        let (users_l, venues_l, reservations_l, points_l) = (
            listen().await.unwrap(),
            listen().await.unwrap(),
            listen().await.unwrap(),
            listen().await.unwrap(),
        );
        let url = |l: &tokio::net::TcpListener| format!("http://{}", l.local_addr().unwrap());
        let (users_url, venues_url, reservations_url, points_url) = (
            url(&users_l),
            url(&venues_l),
            url(&reservations_l),
            url(&points_l),
        );

        // Services this test does not start are on port 9, where nothing listens: their
        // events wait in the outboxes instead of reaching another test's services.
        let mut users_args = service_args("users", &dir("users"));
        users_args.extend(["--communications-url".into(), NOWHERE.into()]);
        let users = users::build(&users::Config::parse_from(users_args))
            .await
            .unwrap();
        let venues = venues::build(&venues::Config::parse_from(service_args(
            "venues",
            &dir("venues"),
        )))
        .await
        .unwrap();
        let mut args = service_args("reservations", &dir("reservations"));
        args.extend(
            [
                "--venues-url",
                &venues_url,
                "--users-url",
                &users_url,
                "--points-url",
                &points_url,
                "--stats-url",
                NOWHERE,
                "--communications-url",
                NOWHERE,
                "--opinions-url",
                NOWHERE,
            ]
            .map(String::from),
        );
        let reservations = reservations::build(&reservations::Config::parse_from(args))
            .await
            .unwrap();
        let points_data = dir("points");
        let points = points::build(&points_config(&points_data)).await.unwrap();
        let servers = vec![
            Server::on(users_l, users),
            Server::on(venues_l, venues),
            Server::on(reservations_l, reservations),
        ];
        let points = Server::on(points_l, points);

        let gateway = gateway::build(&gateway::Config::parse_from([
            "gateway",
            "--users-url",
            &users_url,
            "--venues-url",
            &venues_url,
            "--reservations-url",
            &reservations_url,
            "--points-url",
            &points_url,
            "--internal-token",
            INTERNAL_TOKEN,
            "--permissions-refresh-secs",
            "1",
        ]))
        .await
        .unwrap();
        let gateway = Server::start(gateway).await;
        Cluster {
            apps: Apps::new(gateway.url()),
            points,
            points_data,
            _servers: servers.into_iter().chain([gateway]).collect(),
            _data: data,
        }
    }

    /// Signs up `who` on the embedded identity provider and registers the profile (E1).
    async fn account(&self, who: &str, user_type: &str) -> Account {
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
        let registration = json!({"user_type": user_type, "name": who, "number": "1155556666"});
        let (status, body) = self.post("/users", &account, registration).await;
        assert_eq!(status, 200, "{body}");
        account
    }

    /// A restaurant with its venue (E5 as the portal sends it) at `location`.
    async fn restaurant(&self, who: &str, capacity: Option<i64>, location: &str) -> Account {
        let resto = self.account(who, "restaurant").await;
        let mut form = portal_form(&resto.uid, who, location);
        form["capacity"] = json!(capacity);
        let (status, body) = self.post("/venues", &resto, form).await;
        assert_eq!(status, 200, "{body}");
        resto
    }

    /// `GET /users` points of `who`.
    async fn points_of(&self, who: &Account) -> Value {
        let (status, body) = self.get("/users", Some(who)).await;
        assert_eq!(status, 200, "{body}");
        body["points"].clone()
    }

    /// Polls until `who` has `total` points; false after 10 s.
    async fn until_points(&self, who: &Account, total: i64) -> bool {
        eventually(Duration::from_secs(10), || async {
            self.points_of(who).await["total"] == total
        })
        .await
    }

    /// Books for `who` (E11 as the apps send it, with an extra key).
    async fn book(
        &self,
        who: &Account,
        venue: &str,
        time: DateTime<Utc>,
        people: i64,
    ) -> (u16, Value) {
        let body =
            json!({"people": people, "venue": venue, "time": client_time(time), "source": "app"});
        self.post("/reservations", who, body).await
    }

    /// `DELETE /reservations/{id}` as `who`.
    async fn delete(&self, who: &Account, id: &str) -> (u16, Value) {
        let path = format!("/reservations/{id}");
        self.call(Method::DELETE, &path, Some(who), None).await
    }

    /// `PUT /reservations/{id}` as `who`.
    async fn change(&self, who: &Account, id: &str, body: Value) -> (u16, Value) {
        self.put(&format!("/reservations/{id}"), who, body).await
    }
}

/// E5's body as the portal builds it: its own `id` and `status`, today's slots with the
/// current seconds and milliseconds, a day off.
fn portal_form(uid: &str, name: &str, location: &str) -> Value {
    json!({
        "id": uid, "status": {"status": "Unconfirmed"},
        "name": name, "location": location, "capacity": 20, "reservationLeadTime": 1,
        "logo": "https://storage.example/logo.png", "menu": "",
        "pictures": ["https://storage.example/1.png"],
        "characteristics": ["Pizzas", "Carnes"], "features": ["Wifi"],
        "slots": ["2024-05-01T23:00:27.123Z", "2024-05-01T23:30:27.123Z"],
        "vacations": ["2024-12-25T03:00:00.000Z"]
    })
}

/// moment's `toISOString()`: UTC, milliseconds, `Z`.
fn client_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A day a few days ahead, so every booking is in the future.
fn booking_day() -> NaiveDate {
    (Utc::now() + chrono::Duration::days(3)).date_naive()
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0).unwrap().and_utc()
}

/// How listings print a time: naive, shifted −3 h (H6).
fn listed(t: DateTime<Utc>) -> String {
    (t - chrono::Duration::hours(3))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

#[tokio::test]
async fn j4_a_restaurant_sets_up_and_edits_its_venue() {
    let c = Cluster::start().await;
    let resto = c.account("esquina", "restaurant").await;
    // E4: no venue yet.
    let (status, body) = c.get("/venue", Some(&resto)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["endpoint"], "/venue");
    // E5 with the portal's whole form state.
    let form = portal_form(&resto.uid, "La Esquina", "-34.6037,-58.3816");
    let (status, created) = c.post("/venues", &resto, form.clone()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["id"], resto.uid.as_str());
    assert_eq!(created["status"], json!({"status": "Available"}));
    // E4 again: every field, slots as naive UTC (the portal subtracts 3 h itself).
    let (status, venue) = c.get("/venue", Some(&resto)).await;
    assert_eq!((status, &venue), (200, &created));
    assert_eq!(
        venue["slots"],
        json!(["2024-05-01T23:00:27.123000", "2024-05-01T23:30:27.123000"])
    );
    assert_eq!(venue["vacations"], json!(["2024-12-25T03:00:00"]));
    assert_eq!(venue["reservationLeadTime"], 1);
    // Creating it again is a conflict, not a second venue.
    assert_eq!(c.post("/venues", &resto, form).await.0, 409);

    // E6: the whole venue back, with its id and status, the flags, a new name.
    let mut edit = venue.clone();
    edit["name"] = json!("La Esquina de Pepe");
    edit["capacity"] = json!(30);
    edit["pictures"] = json!([]);
    for flag in ["open", "close", "occupy"] {
        edit[flag] = json!(false);
    }
    let path = format!("/venues/{}", resto.uid);
    let (status, edited) = c.put(&path, &resto, edit.clone()).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["name"], "La Esquina de Pepe");
    assert_eq!(edited["capacity"], 30);
    // `[]` changes nothing (the original's rule), so the pictures stay.
    assert_eq!(edited["pictures"], venue["pictures"]);
    assert_eq!(c.get("/venue", Some(&resto)).await.1, edited);

    // Nobody else writes it; a diner has no venue to create.
    let other = c.account("otro", "restaurant").await;
    assert_eq!(c.put(&path, &other, edit).await.0, 403);
    let diner = c.account("ana", "client").await;
    assert_eq!(
        c.post("/venues", &diner, json!({"name": "Mía"})).await.0,
        403
    );
    assert_eq!(c.get("/venue", Some(&diner)).await.0, 403);
}

#[tokio::test]
async fn j10_j11_j12_a_diner_finds_books_edits_and_cancels() {
    let c = Cluster::start().await;
    let resto = c.restaurant("esquina", Some(20), "-34.6000,-58.3800").await;
    let diner = c.account("ana", "client").await;
    let v = resto.uid.as_str();

    // J10: near me (E9), the catalogue (E7), the promotions (E10).
    let (status, near) = c
        .get(
            "/venues/near?location=-34.6037&location=-58.3816",
            Some(&diner),
        )
        .await;
    assert_eq!(status, 200, "{near}");
    assert_eq!(near["total"], 1);
    assert_eq!(near["result"][0]["venue"]["id"], v);
    let distance = near["result"][0]["distance"].as_u64().unwrap();
    assert!((400..500).contains(&distance), "{distance}");
    let (status, catalogue) = c.get("/venues?limit=100&start=0", Some(&diner)).await;
    assert_eq!((status, &catalogue["total"]), (200, &json!(1)));
    let venue = catalogue["result"][0].clone();
    assert_eq!(near["result"][0]["venue"], venue);
    let (status, promotions) = c.get("/venues/promotions", Some(&diner)).await;
    assert_eq!(status, 200);
    assert_eq!(promotions, json!({"result": [venue.clone()], "total": 1}));
    // The category filter, with the gateway's singular key.
    let (_, found) = c
        .get(
            "/venues?&characteristic=Pizzas&feature=Wifi&limit=100000",
            None,
        )
        .await;
    assert_eq!(found["total"], 1);
    let (_, none) = c.get("/venues?characteristic=Sushi", None).await;
    assert_eq!(none, json!({"result": [], "total": 0}));

    // J15 / E8: the booking page looks the venue up with no Authorization header at all.
    let lookup = format!("/venues?limit=10&start=0&id={v}");
    let (status, page) = c.get(&lookup, None).await;
    assert_eq!((status, &page["result"][0]), (200, &venue));

    // J11: book (E11).
    let day = booking_day();
    let time = at(day, 23, 0);
    let (status, booked) = c.book(&diner, v, time, 2).await;
    assert_eq!(status, 200, "{booked}");
    assert_eq!(booked["user"], format!("user/{}", diner.uid));
    assert_eq!(booked["status"], json!({"status": "Uncomfirmed"}));
    let id = booked["id"].as_str().unwrap().to_string();

    // J10 step 4: nothing accepted yet; J12: the history lists it, time shifted, naive.
    let (status, upcoming) = c
        .get("/reservations?&status=Accepted&limit=20", Some(&diner))
        .await;
    assert_eq!((status, &upcoming["total"]), (200, &json!(0)));
    let (status, history) = c.get("/reservations?&limit=20", Some(&diner)).await;
    assert_eq!(status, 200, "{history}");
    let row = &history["result"][0];
    assert_eq!(
        (&row["id"], &row["venue"], &row["time"], &row["people"]),
        (&json!(id), &json!(v), &json!(listed(time)), &json!(2))
    );
    assert_eq!(row["status"]["status"], "Uncomfirmed");
    // E8 per row, with the diner's token.
    let (_, page) = c.get(&lookup, Some(&diner)).await;
    assert_eq!(page["result"][0]["name"], "esquina");

    // E17: same date, another time of day, another party size.
    let moved = at(day, 22, 30);
    let (status, edited) = c
        .change(
            &diner,
            &id,
            json!({"time": client_time(moved), "people": 4}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let (_, history) = c.get("/reservations/history?&limit=20", Some(&diner)).await;
    let row = &history["result"][0];
    assert_eq!(
        (&row["time"], &row["people"], &row["status"]["status"]),
        (&json!(listed(moved)), &json!(4), &json!("Uncomfirmed"))
    );

    // The diner cannot accept their own booking (H3), anyone else cannot touch it.
    let (status, _) = c
        .change(&diner, &id, json!({"advance_forward": true}))
        .await;
    assert_eq!(status, 403);
    let stranger = c.account("luis", "client").await;
    assert_eq!(
        c.change(&stranger, &id, json!({"cancel": true})).await.0,
        403
    );
    let (_, theirs) = c
        .get(&format!("/reservations?id={id}"), Some(&stranger))
        .await;
    assert_eq!(theirs["total"], 0);

    // E15: cancel; then it is final.
    let (status, canceled) = c.change(&diner, &id, json!({"cancel": true})).await;
    assert_eq!(
        (status, &canceled["status"]["status"]),
        (200, &json!("Canceled"))
    );
    let (status, body) = c.change(&diner, &id, json!({"cancel": true})).await;
    assert_eq!(status, 400, "{body}");
    let (_, history) = c.get("/reservations?&limit=20", Some(&diner)).await;
    assert_eq!(history["result"][0]["status"]["status"], "Canceled");
}

#[tokio::test]
async fn j5_j13_the_restaurant_accepts_and_the_diner_checks_in_for_points() {
    let c = Cluster::start().await;
    let resto = c.restaurant("esquina", None, "-34.6,-58.4").await;
    let diner = c.account("ana", "client").await;
    let v = resto.uid.as_str();
    let day = booking_day();
    let (_, a) = c.book(&diner, v, at(day, 21, 0), 2).await;
    let (_, b) = c.book(&diner, v, at(day, 23, 30), 3).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // J5: the Bookings page for that local day (03:00Z to 02:59:59.999Z next day).
    let from = at(day, 3, 0);
    let to = at(day + chrono::Duration::days(1), 2, 59) + chrono::Duration::milliseconds(59_999);
    let bookings = format!(
        "/reservations/venue?start=0&limit=100000&from_time={}&to_time={}",
        client_time(from),
        client_time(to)
    );
    let (status, listing) = c.get(&bookings, Some(&resto)).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["total"], 2);
    assert_eq!(
        listing["result"][0]["user"],
        json!({"id": diner.uid, "name": "ana", "phone": "1155556666",
               "times_assisted": 0, "times_expired": 0})
    );
    assert_eq!(listing["opinions"], json!({}));
    // A diner does not read the venue's bookings; a restaurant has no diner history.
    assert_eq!(c.get(&bookings, Some(&diner)).await.0, 403);
    assert_eq!(c.get("/reservations/history", Some(&resto)).await.0, 403);

    // E14 accept A, E15 reject B.
    let (status, accepted) = c.change(&resto, a, json!({"advance_forward": true})).await;
    assert_eq!(
        (status, &accepted["status"]["status"]),
        (200, &json!("Accepted"))
    );
    let (status, rejected) = c.change(&resto, b, json!({"cancel": true})).await;
    assert_eq!(
        (status, &rejected["status"]["status"]),
        (200, &json!("Canceled"))
    );

    // J13: the diner sees A upcoming, scans the QR (venue = localid) and checks in (E16).
    let (_, upcoming) = c
        .get("/reservations?&status=Accepted&limit=20", Some(&diner))
        .await;
    assert_eq!(upcoming["total"], 1);
    assert_eq!(upcoming["result"][0]["venue"], v);
    let (status, assisted) = c.change(&diner, a, json!({"advance_forward": true})).await;
    assert_eq!(
        (status, &assisted["status"]["status"]),
        (200, &json!("Assisted"))
    );
    // +50 for the check-in, nothing for the venue's rejection.
    assert!(
        c.until_points(&diner, 50).await,
        "{}",
        c.points_of(&diner).await
    );
    assert_eq!(
        c.points_of(&diner).await,
        json!({"user": diner.uid, "total": 50, "level": "Novato"})
    );
    let (_, listing) = c.get(&bookings, Some(&resto)).await;
    let row_a = listing["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == a)
        .unwrap();
    assert_eq!(row_a["user"]["times_assisted"], 1);

    // Only the venue erases a booking; the diner cancels instead.
    assert_eq!(c.delete(&diner, b).await.0, 403);
    assert_eq!(c.delete(&resto, b).await, (200, Value::Null));
    let (_, listing) = c.get(&bookings, Some(&resto)).await;
    assert_eq!(listing["total"], 1);
    assert_eq!(c.points_of(&diner).await["total"], 50);
}

#[tokio::test]
async fn concurrent_bookings_never_overfill_a_seating_window() {
    const CAPACITY: i64 = 4;
    let c = Cluster::start().await;
    let resto = c.restaurant("chico", Some(CAPACITY), "-34.6,-58.4").await;
    let diners = [
        c.account("ana", "client").await,
        c.account("luis", "client").await,
        c.account("eva", "client").await,
    ];
    let day = booking_day();
    // 120 bookings of 1 or 2 people over seven half-hour starts: every start shares its
    // seating window (120 min) with several others.
    let attempts: Vec<(usize, DateTime<Utc>, i64)> = (0..120)
        .map(|i| {
            (
                i % 3,
                at(day, 19, 0) + chrono::Duration::minutes(30 * (i as i64 % 7)),
                1 + i as i64 % 2,
            )
        })
        .collect();
    let answers = futures_util::future::join_all(
        attempts
            .iter()
            .map(|(who, time, people)| c.book(&diners[*who], &resto.uid, *time, *people)),
    )
    .await;
    let mut booked = 0;
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 400, "{status}: {body}");
        if *status == 200 {
            booked += 1;
        } else {
            assert_eq!(body["endpoint"], "/reservations");
        }
    }
    assert!(booked >= 2, "only {booked} bookings succeeded");

    let (status, listing) = c
        .get("/reservations/venue?start=0&limit=100000", Some(&resto))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listing["total"], booked);
    let seated: Vec<(DateTime<Utc>, i64)> = listing["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                chefcito::time::parse(r["time"].as_str().unwrap()).unwrap(),
                r["people"].as_i64().unwrap(),
            )
        })
        .collect();
    // A party holds its seats for 120 min from its time; at every instant (the busiest ones
    // are the start times) the parties seated fit the capacity.
    for (instant, _) in &seated {
        let at_once: i64 = seated
            .iter()
            .filter(|(t, _)| t <= instant && *instant < *t + chrono::Duration::minutes(120))
            .map(|(_, p)| p)
            .sum();
        assert!(at_once <= CAPACITY, "{at_once} people at {instant}");
    }
}

#[tokio::test]
async fn a_points_outage_delays_points_but_never_loses_or_doubles_them() {
    let mut c = Cluster::start().await;
    let resto = c.restaurant("esquina", None, "-34.6,-58.4").await;
    let ana = c.account("ana", "client").await;
    let luis = c.account("luis", "client").await;
    let v = resto.uid.clone();
    let day = booking_day();
    let mut accepted = Vec::new();
    for (who, hour) in [
        (&ana, 12),
        (&ana, 14),
        (&ana, 16),
        (&luis, 12),
        (&luis, 14),
        (&luis, 16),
        (&luis, 18),
    ] {
        let (status, r) = c.book(who, &v, at(day, hour, 0), 2).await;
        assert_eq!(status, 200, "{r}");
        let id = r["id"].as_str().unwrap().to_string();
        let (status, _) = c
            .change(&resto, &id, json!({"advance_forward": true}))
            .await;
        assert_eq!(status, 200);
        accepted.push(id);
    }
    // Before the outage: one check-in each, delivered.
    assert_eq!(
        c.change(&ana, &accepted[0], json!({"advance_forward": true}))
            .await
            .0,
        200
    );
    assert_eq!(
        c.change(&luis, &accepted[3], json!({"advance_forward": true}))
            .await
            .0,
        200
    );
    assert!(c.until_points(&ana, 50).await);
    assert!(c.until_points(&luis, 50).await);

    // The points service goes away while reservations keep changing.
    c.points.shut_down().await;
    let changes = [
        (&ana, 1, json!({"advance_forward": true})),  // +50
        (&ana, 2, json!({"advance_forward": true})),  // +50
        (&luis, 4, json!({"cancel": true})),          // owner cancel: -50
        (&luis, 5, json!({"advance_forward": true})), // +50
    ];
    for (who, i, body) in changes {
        let (status, answer) = c.change(who, &accepted[i], body).await;
        assert_eq!(
            status, 200,
            "a points outage must not fail the diner: {answer}"
        );
    }
    // The venue's cancel costs nothing.
    assert_eq!(
        c.change(&resto, &accepted[6], json!({"cancel": true}))
            .await
            .0,
        200
    );
    // Signing in still works, with the starting points shown meanwhile.
    assert_eq!(
        c.points_of(&ana).await,
        json!({"user": ana.uid, "total": 0, "level": "Novato"})
    );

    // Back on the same port and data: everything arrives, once.
    let listener = rebind(c.points.addr).await;
    let points = points::build(&points_config(&c.points_data)).await.unwrap();
    c.points = Server::on(listener, points);
    assert!(
        c.until_points(&ana, 150).await,
        "{}",
        c.points_of(&ana).await
    );
    assert!(
        c.until_points(&luis, 50).await,
        "{}",
        c.points_of(&luis).await
    );
    // Let any late redelivery land, then check nothing was counted twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        c.points_of(&ana).await,
        json!({"user": ana.uid, "total": 150, "level": "Aficionado Gourmet"})
    );
    assert_eq!(c.points_of(&luis).await["total"], 50);
}

/// What a relayed answer holds, decoded with the gateway's wire type and encoded again: the
/// same JSON, so relaying the body changed nothing for the clients.
fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(path: &str, body: &Value) {
    let typed: T = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{path}: not the documented type: {e}\n{body}"));
    assert_eq!(&serde_json::to_value(&typed).unwrap(), body, "{path}");
}

#[tokio::test]
async fn relayed_answers_are_exactly_the_documented_types() {
    use gateway::routes::reservations::Listing;
    use gateway::routes::venues::{NearPage, Venue, VenuePage};
    let c = Cluster::start().await;
    let resto = c.restaurant("esquina", Some(20), "-34.6000,-58.3800").await;
    let diner = c.account("ana", "client").await;
    let (status, booked) = c
        .book(&diner, &resto.uid, at(booking_day(), 21, 0), 2)
        .await;
    assert_eq!(status, 200, "{booked}");
    let id = format!("/venues?id={}", resto.uid);
    let pages = [
        "/venues?limit=5",
        id.as_str(),
        "/venues?characteristic=Pizzas&limit=5",
        "/venues/promotions",
    ];
    for path in pages {
        let (status, body) = c.get(path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["total"], 1, "{path}: {body}");
        round_trips::<VenuePage>(path, &body);
    }
    let (status, body) = c.get("/venue", Some(&resto)).await;
    assert_eq!((status, &body["id"]), (200, &json!(resto.uid)), "{body}");
    round_trips::<Venue>("/venue", &body);
    let near = "/venues/near?location=-34.6037&location=-58.3816&limit=3";
    let (status, body) = c.get(near, None).await;
    assert_eq!((status, &body["total"]), (200, &json!(1)), "{body}");
    round_trips::<NearPage>(near, &body);
    for (path, who) in [
        ("/reservations?limit=5", &diner),
        ("/reservations/venue?limit=5", &resto),
    ] {
        let (status, body) = c.get(path, Some(who)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["result"][0]["id"], booked["id"], "{path}: {body}");
        round_trips::<Listing>(path, &body);
    }
    // Refusals keep their status and envelope.
    let (status, body) = c.get("/venues?limit=100001", None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["endpoint"], "/venues");
    let (status, body) = c.get("/venue", Some(&diner)).await;
    assert_eq!(status, 403, "{body}");
}
