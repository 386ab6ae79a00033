import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef } from 'preact/hooks';
import type { StationOverview } from '../../../contracts/dashboard.js';
import { fmtC } from '../i18n.js';
import { SHADE_COLOR, shadeOf } from '../levels.js';

interface Props {
  rows: StationOverview[];
  tileUrl: string | null;
}

/**
 * Stations on a Leaflet map. Markers are circle markers (SVG), so no marker images are needed and
 * the colour carries the level. With no tile server configured the map is a plain background with
 * a scale: positions and distances still read right, which is what an officer needs offline.
 */
export function StationMap({ rows, tileUrl }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const markers = useRef(new Map<string, L.CircleMarker>());
  const fitted = useRef(false);

  useEffect(() => {
    if (!el.current) return undefined;
    const m = L.map(el.current, { zoomControl: true, attributionControl: tileUrl !== null });
    m.setView([11.99, 108.43], 11); // Lạc Dương, until the stations are known
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 18 }).addTo(m);
    L.control.scale({ metric: true, imperial: false }).addTo(m);
    map.current = m;
    return () => {
      m.remove();
      map.current = null;
      markers.current.clear();
      fitted.current = false;
    };
  }, [tileUrl]);

  useEffect(() => {
    const m = map.current;
    if (!m) return;
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      upsertMarker(m, markers.current, row);
    }
    for (const [id, marker] of markers.current) {
      if (!seen.has(id)) {
        marker.remove();
        markers.current.delete(id);
      }
    }
    if (!fitted.current && rows.length > 0) {
      fitted.current = true;
      const bounds = L.latLngBounds(rows.map((r) => [r.lat, r.lon] as [number, number]));
      m.fitBounds(bounds.pad(0.2), { maxZoom: 13 });
    }
  }, [rows, tileUrl]);

  return <div ref={el} class="map" data-testid="map" />;
}

function upsertMarker(m: L.Map, all: Map<string, L.CircleMarker>, row: StationOverview): void {
  const shade = shadeOf(row);
  const color = SHADE_COLOR[shade];
  let marker = all.get(row.id);
  if (!marker) {
    marker = L.circleMarker([row.lat, row.lon], { radius: 11, weight: 2, color: '#222', fillOpacity: 0.9, fillColor: color });
    marker.addTo(m);
    marker.on('click', () => {
      location.hash = `#/station/${encodeURIComponent(row.id)}`;
    });
    all.set(row.id, marker);
  }
  marker.setLatLng([row.lat, row.lon]);
  marker.setStyle({ fillColor: color });
  // Leaflet puts a string tooltip in with innerHTML; a station name is data, so it goes in as text.
  const tip = document.createElement('span');
  tip.textContent = `${row.name}: ${fmtC(row.airTempC)}`;
  marker.bindTooltip(tip);
  const path = marker.getElement();
  path?.setAttribute('data-testid', `marker-${row.id}`);
  path?.setAttribute('data-level', shade);
}
