//! Points on the globe, the original's haversine distance, and the latitude/longitude boxes
//! that let the store find the venues within a radius without looking at every venue.

/// Mean Earth radius in kilometres, the `haversine` library's default that the original used.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;
const EARTH_RADIUS_M: f64 = EARTH_RADIUS_KM * 1000.0;

/// A latitude/longitude pair in decimal degrees, within range and finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    lat: f64,
    lon: f64,
}

impl Point {
    /// Palermo, Buenos Aires: where `/venues/near` searches from when no location is given,
    /// and where venues whose location is not `"<lat>,<lon>"` are placed.
    pub const DEFAULT: Point = Point {
        lat: -34.594174,
        lon: -58.4566507,
    };

    /// `None` unless −90 ≤ lat ≤ 90 and −180 ≤ lon ≤ 180.
    pub fn new(lat: f64, lon: f64) -> Option<Point> {
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Point { lat, lon })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Where a venue is, from its free-text `location`: the first two comma-separated parts,
    /// trimmed, as latitude and longitude. Anything else (a street address, an empty text,
    /// coordinates off the globe) puts it at [`Point::DEFAULT`], as the original did.
    pub fn of_location(location: &str) -> Point {
        let mut parts = location.split(',');
        let coordinate = |part: Option<&str>| part.and_then(|p| p.trim().parse::<f64>().ok());
        match (coordinate(parts.next()), coordinate(parts.next())) {
            (Some(lat), Some(lon)) => Point::new(lat, lon).unwrap_or(Point::DEFAULT),
            _ => Point::DEFAULT,
        }
    }

    /// Great-circle distance in kilometres, computed as the `haversine` library does (same
    /// radius, same operations), so that whole metres match the original's.
    pub fn km_to(self, other: Point) -> f64 {
        let (lat1, lon1) = (self.lat.to_radians(), self.lon.to_radians());
        let (lat2, lon2) = (other.lat.to_radians(), other.lon.to_radians());
        let (dlat, dlon) = (lat2 - lat1, lon2 - lon1);
        let d = (dlat * 0.5).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon * 0.5).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * d.sqrt().asin()
    }

    /// Boxes that together hold every point at most `radius_m` metres away (and a little
    /// more: they are a pre-filter, the exact distance decides). One box, or two when the
    /// circle crosses the antimeridian; the whole globe when the radius is that large.
    pub fn areas_within(self, radius_m: f64) -> Vec<Area> {
        // The margin covers rounding in the trigonometry; the R*Tree rounds outwards itself.
        let angle = (radius_m.max(0.0) * (1.0 + 1e-9) + 1.0) / EARTH_RADIUS_M;
        if angle >= std::f64::consts::PI {
            return vec![Area::WORLD];
        }
        let lat = self.lat.to_radians();
        let (min_lat, max_lat) = (lat - angle, lat + angle);
        let half_pi = std::f64::consts::FRAC_PI_2;
        if min_lat <= -half_pi || max_lat >= half_pi {
            // A pole lies inside the circle: every longitude is reachable.
            return vec![Area {
                min_lat: min_lat.to_degrees().max(-90.0),
                max_lat: max_lat.to_degrees().min(90.0),
                min_lon: -180.0,
                max_lon: 180.0,
            }];
        }
        // Widest longitude difference on the circle (both poles are outside it, so
        // sin(angle) < cos(lat) and the arcsine is defined).
        let spread = (angle.sin() / lat.cos()).asin().to_degrees();
        let (min_lon, max_lon) = (self.lon - spread, self.lon + spread);
        let area = |min_lon: f64, max_lon: f64| Area {
            min_lat: min_lat.to_degrees(),
            max_lat: max_lat.to_degrees(),
            min_lon,
            max_lon,
        };
        if min_lon < -180.0 {
            vec![area(min_lon + 360.0, 180.0), area(-180.0, max_lon)]
        } else if max_lon > 180.0 {
            vec![area(min_lon, 180.0), area(-180.0, max_lon - 360.0)]
        } else {
            vec![area(min_lon, max_lon)]
        }
    }
}

/// A distance in kilometres as the wire writes it: whole metres, truncated toward zero.
pub fn whole_metres(km: f64) -> i64 {
    (km * 1000.0).trunc() as i64
}

/// Half the Earth's circumference in metres: no two points are farther apart.
pub const HALF_CIRCUMFERENCE_M: f64 = std::f64::consts::PI * EARTH_RADIUS_M;

/// A latitude/longitude box in degrees, bounds included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Area {
    pub const WORLD: Area = Area {
        min_lat: -90.0,
        max_lat: 90.0,
        min_lon: -180.0,
        max_lon: 180.0,
    };

    pub fn contains(&self, p: Point) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && (self.min_lon..=self.max_lon).contains(&p.lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    /// `test_distance_between_anchorage_and_centenario`.
    #[test]
    fn anchorage_to_centenario() {
        let anchorage = p(61.2035833, -149.853936);
        let centenario = p(-34.6071389, -58.4383249);
        let km = anchorage.km_to(centenario);
        assert!((km - 13398.7557).abs() < 0.1, "{km}");
        assert_eq!(km, centenario.km_to(anchorage));
    }

    /// `test_compare_distances_relative_to_a_point` and `test_two_nearly_equal_distances…`.
    #[test]
    fn distances_compare_as_expected() {
        let from = p(-34.6211119, -58.4348481);
        let anchorage = p(61.2035833, -149.853936);
        let centenario = p(-34.6071389, -58.4383249);
        assert!(from.km_to(anchorage) > from.km_to(centenario));
        let a = p(-34.6071389, -58.4383249);
        let b = p(-34.6071390, -58.4383250);
        assert!((from.km_to(a) - from.km_to(b)).abs() < 0.01);
    }

    #[test]
    fn whole_metres_truncate() {
        // 0.01° along a meridian is 1111.95 m on this sphere.
        let d = p(0.0, 0.0).km_to(p(0.01, 0.0));
        assert_eq!(whole_metres(d), 1111);
        assert_eq!(whole_metres(p(0.0, 0.0).km_to(p(0.0, 1.0))), 111_195);
        assert_eq!(whole_metres(0.0), 0);
    }

    #[test]
    fn locations_are_read_leniently() {
        assert_eq!(
            Point::of_location(" -34.6 , -58.4 "),
            p(-34.6, -58.4),
            "parts are trimmed"
        );
        assert_eq!(Point::of_location("-34.6,-58.4,extra"), p(-34.6, -58.4));
        for unusable in [
            "",
            "Av. Santa Fe 1234",
            "-34.6",
            "-34.6;-58.4",
            "abc,def",
            "95,10",
            "10,190",
            "NaN,1",
        ] {
            assert_eq!(Point::of_location(unusable), Point::DEFAULT, "{unusable:?}");
        }
    }

    #[test]
    fn points_must_be_on_the_globe() {
        assert!(Point::new(90.0, 180.0).is_some());
        assert!(Point::new(-90.0, -180.0).is_some());
        assert!(Point::new(90.1, 0.0).is_none());
        assert!(Point::new(0.0, -180.1).is_none());
        assert!(Point::new(f64::NAN, 0.0).is_none());
        assert!(Point::new(0.0, f64::INFINITY).is_none());
    }

    /// Every point within the radius lies in one of the areas, wherever the centre is.
    #[test]
    fn areas_hold_the_whole_circle() {
        let centres = [
            Point::DEFAULT,
            p(0.0, 0.0),
            p(0.0, 179.99),
            p(10.0, -179.9),
            p(89.9, 20.0),
            p(-89.5, -100.0),
            p(60.0, 170.0),
        ];
        let radii = [10.0, 1_000.0, 50_000.0, 2_000_000.0, 15_000_000.0];
        for centre in centres {
            for radius in radii {
                let areas = centre.areas_within(radius);
                assert!(!areas.is_empty() && areas.len() <= 2);
                // Points around the centre on circles just inside the radius.
                for step in 0..360 {
                    let bearing = f64::from(step).to_radians();
                    let target = destination(centre, bearing, radius * 0.999_999);
                    let inside = areas.iter().any(|a| a.contains(target));
                    assert!(
                        inside,
                        "{target:?} at {radius} m from {centre:?} is outside {areas:?}"
                    );
                }
            }
        }
        assert_eq!(
            p(0.0, 0.0).areas_within(HALF_CIRCUMFERENCE_M),
            [Area::WORLD]
        );
    }

    #[test]
    fn small_areas_are_small() {
        let areas = Point::DEFAULT.areas_within(1_000.0);
        assert_eq!(areas.len(), 1);
        let a = areas[0];
        assert!(a.max_lat - a.min_lat < 0.02, "{a:?}");
        assert!(a.max_lon - a.min_lon < 0.03, "{a:?}");
        assert!(a.contains(Point::DEFAULT));
    }

    /// The point `metres` away from `from` along `bearing` (radians), on the same sphere.
    fn destination(from: Point, bearing: f64, metres: f64) -> Point {
        let angle = metres / EARTH_RADIUS_M;
        let (lat1, lon1) = (from.lat.to_radians(), from.lon.to_radians());
        let lat2 = (lat1.sin() * angle.cos() + lat1.cos() * angle.sin() * bearing.cos()).asin();
        let lon2 = lon1
            + (bearing.sin() * angle.sin() * lat1.cos())
                .atan2(angle.cos() - lat1.sin() * lat2.sin());
        let lon = (lon2.to_degrees() + 540.0) % 360.0 - 180.0;
        Point::new(lat2.to_degrees().clamp(-90.0, 90.0), lon).unwrap()
    }
}
