// The report maps (staff and public): markers from a JSON list, coloured by status. Tiles are
// optional (data-tiles empty, or unreachable): the markers are drawn all the same.
"use strict";

(function () {
  const COLOURS = { received: "#d9480f", in_progress: "#1565c0", done: "#2e7d32", rejected: "#6b6b6b" };

  function start(element) {
    const bounds = element.dataset.bounds.split(",").map(Number);
    const map = L.map(element, { preferCanvas: false }).fitBounds([
      [bounds[0], bounds[1]],
      [bounds[2], bounds[3]],
    ]);
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution || "", maxZoom: 18 }).addTo(map);
    }
    const count = document.querySelector("[data-map-count]");
    fetch(element.dataset.markers, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((data) => {
        const points = [];
        for (const marker of data.markers) {
          const circle = L.circleMarker([marker.lat, marker.lng], {
            radius: 8,
            color: "#fff",
            weight: 2,
            fillColor: COLOURS[marker.status] || "#333",
            fillOpacity: 0.9,
            className: "report-marker status-" + marker.status,
          }).addTo(map);
          const link = document.createElement("a");
          link.href = marker.url;
          link.textContent = (marker.number || "") + " " + marker.category + " (" + marker.status_label + ")";
          circle.bindPopup(link);
          circle.bindTooltip(marker.number || marker.category);
          points.push([marker.lat, marker.lng]);
        }
        if (points.length) map.fitBounds(points, { maxZoom: 16, padding: [30, 30] });
        if (count) count.textContent = element.dataset.countLabel
          ? element.dataset.countLabel.replace("{n}", String(points.length))
          : String(points.length);
        element.dataset.loaded = String(points.length);
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-markers]").forEach(start);
  });
})();
