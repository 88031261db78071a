/* circle15 map page: draws a map from a spec and named data blobs (see coverage/maps/page.py).
 * Every text from data goes through esc() (or textContent) before it reaches the page.
 * MIT licence (the circle15 project). Needs Leaflet 1.9 and Leaflet.markercluster 1.5. */
(function () {
  'use strict';

  var ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
      function (c) { return ESC[c]; });
  }
  /* Fill {name}, {name:g} and {name:,} fields of a label template. */
  function fmt(t, v) {
    return String(t).replace(/\{(\w+)(?::([^}]*))?\}/g, function (m, k, spec) {
      if (v[k] === undefined) { return m; }
      if (spec === ',') { return Number(v[k]).toLocaleString('en-US'); }
      if (spec === 'g') { return String(Number(v[k])); }
      return String(v[k]);
    });
  }
  function blob(name) { return window['circle15_data_' + name]; }
  function el(tag, cls, html) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (html !== undefined) { e.innerHTML = html; }
    return e;
  }

  /* --- symbols: one drawing for the map and the legend ------------------------------------ */
  var SIZE = {dot: [12, 12], cluster: [24, 24], cell: [28, 28], diamond: [20, 20],
              pin: [24, 24], star: [30, 30], square: [22, 22], ring: [12, 12]};
  var STAR = '<svg viewBox="0 0 30 30" width="30" height="30" aria-hidden="true"><polygon ' +
    'points="15,1.5 19,10.6 28.8,11.4 21.3,17.8 23.6,27.4 15,22.2 6.4,27.4 8.7,17.8 1.2,11.4 ' +
    '11,10.6" fill="var(--c)" stroke="#000" stroke-width="1.6" stroke-linejoin="round"/></svg>';

  function symbolHtml(sym, text, colour) {
    var c = colour || sym.colour || '#888', t = text === undefined ? (sym.text || '') : text;
    var inner = sym.shape === 'star' ? STAR + (t ? '<i>' + esc(t) + '</i>' : '') :
      (t !== '' && t !== null ? '<i>' + esc(t) + '</i>' : '');
    return '<span class="c15-sym c15-sym-' + esc(sym.shape) + '" style="--c:' + esc(c) + '">' +
      inner + '</span>';
  }
  function icon(sym, text, colour) {
    var s = SIZE[sym.shape] || [16, 16];
    var anchor = sym.shape === 'pin' ? [12, 29] : [s[0] / 2, s[1] / 2];
    return L.divIcon({className: 'c15-icon', html: symbolHtml(sym, text, colour),
                      iconSize: s, iconAnchor: anchor,
                      tooltipAnchor: sym.shape === 'pin' ? [0, -22] : [0, -s[1] / 2]});
  }

  function popupHtml(title, rows) {
    var h = '<div class="c15-pop"><b>' + esc(title) + '</b>';
    if (rows && rows.length) {
      h += '<table>' + rows.map(function (r) {
        return '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>';
      }).join('') + '</table>';
    }
    return h + '</div>';
  }

  /* --- renderers: (page, spec) -> {layer, legend(), refresh()} ----------------------------- */
  var R = {};

  R.compounds = function (page, spec) {
    var o = spec.options, words = page.spec.labels, n = o.cats.length;
    function mode() { return page.state.colour; }
    function proposed() { return page.state.scenario === 'with_proposed' && o.with_proposed; }
    function colourOf(p) {
      var bits = proposed() ? p.cp : p.c;
      if (mode() === 'all') { return o.classes[proposed() ? p.kp : p.k].colour; }
      var i = o.cats.findIndex(function (c) { return c.key === mode(); });
      return bits.charAt(i) === '1' ? o.covered : o.uncovered;
    }
    function style(f) {
      return {color: '#444', weight: 0.8, fillColor: colourOf(f.properties), fillOpacity: 0.62,
              className: 'c15-compound'};
    }
    function popup(p) {
      var m = proposed() ? p.wp : p.w, bits = proposed() ? p.cp : p.c;
      var ok = bits.split('').filter(function (b) { return b === '1'; }).length;
      var h = '<div class="c15-pop"><b>' + esc(p.n || p.id) + '</b> <small>' + esc(p.id) +
        '</small><br>' + esc(words.unit) + ': ' + esc(p.u) + '<br>' + esc(words.population) +
        ': ' + esc(p.p === null ? '' : Number(p.p).toLocaleString('en-US')) + ' · ' +
        esc(words.population_60plus) + ': ' +
        esc(p.a === null ? '' : Number(p.a).toLocaleString('en-US')) + '<br><b>' +
        esc(fmt(words.n_of_cats, {n: ok, total: n})) + '</b><table><tr><th>' +
        esc(words.category) + '</th><th>' + esc(words.walk_min) + '</th><th>' +
        esc(words.limit_min) + '</th>' +
        (o.with_proposed ? '<th>' + esc(words.walk_min_proposed) + '</th>' : '') + '</tr>';
      var far = false;
      o.cats.forEach(function (c, i) {
        function cell(v, b) {
          if (v === null) { far = true; }
          return '<td class="' + (b === '1' ? 'ok' : 'no') + '">' +
            esc(v === null ? fmt(words.beyond, {minutes: o.max_walk_min}) : v.toFixed(1)) +
            '</td>';
        }
        h += '<tr><td>' + esc(c.label) + '</td>' + cell(p.w[i], p.c.charAt(i)) +
          '<td>≤ ' + esc(c.minutes) + '</td>' +
          (o.with_proposed ? cell(p.wp[i], p.cp.charAt(i)) : '') + '</tr>';
      });
      h += '</table>';
      if (far) { h += '<small>' + esc(fmt(words.beyond_note, {minutes: o.max_walk_min})) +
                      '</small>'; }
      return h + '</div>';
    }
    var layer = L.geoJSON(blob(spec.data), {
      style: style,
      onEachFeature: function (f, l) {
        l.bindTooltip(function () {
          var p = f.properties, bits = proposed() ? p.cp : p.c;
          var ok = bits.split('').filter(function (b) { return b === '1'; }).length;
          return esc(p.n || p.id) + ' · ' + esc(fmt(words.n_of_cats, {n: ok, total: n}));
        }, {sticky: true});
        l.bindPopup(function () { return popup(f.properties); }, {maxWidth: 440});
      }
    });
    function legend() {
      var counts = {}, entries = [], heading;
      layer.eachLayer(function (l) {
        var c = colourOf(l.feature.properties); counts[c] = (counts[c] || 0) + 1;
      });
      if (mode() === 'all') {
        heading = o.legend_all;
        o.classes.forEach(function (k) {
          if (counts[k.colour]) {
            entries.push({symbol: {shape: 'fill', colour: k.colour}, text: k.label,
                          count: counts[k.colour]});
          }
        });
      } else {
        var cat = o.cats.find(function (c) { return c.key === mode(); });
        heading = fmt(words.legend_compounds, {what: cat.label});
        [[o.covered, words.cat_within], [o.uncovered, words.cat_beyond]].forEach(function (x) {
          if (counts[x[0]]) {
            entries.push({symbol: {shape: 'fill', colour: x[0]},
                          text: fmt(x[1], {minutes: cat.minutes}), count: counts[x[0]]});
          }
        });
      }
      return {heading: heading, entries: entries};
    }
    return {layer: layer, legend: legend, refresh: function () {
      layer.setStyle(style); layer.eachLayer(function (l) { l.closePopup(); });
    }};
  };

  function labelLayer(page, name) {
    var d = blob(name), group = L.layerGroup();
    if (!d) { return group; }
    d.t.forEach(function (t, i) {
      group.addLayer(L.marker([d.y[i], d.x[i]], {
        pane: 'c15-labels', interactive: false, keyboard: false,
        icon: L.divIcon({className: 'c15-label', html: '<span>' + esc(t) + '</span>',
                         iconSize: null})
      }));
    });
    page.labelGroups.push(group);
    return group;
  }

  /* An SVG hatch pattern (diagonal lines) in a colour; returns its fill url. */
  function hatch(page, key, colour) {
    var id = 'c15-hatch-' + key.replace(/[^A-Za-z0-9_-]/g, '_');
    if (!document.getElementById(id)) {
      var ns = 'http://www.w3.org/2000/svg';
      var p = document.createElementNS(ns, 'pattern'), line = document.createElementNS(ns, 'line');
      p.setAttribute('id', id); p.setAttribute('patternUnits', 'userSpaceOnUse');
      p.setAttribute('width', '7'); p.setAttribute('height', '7');
      p.setAttribute('patternTransform', 'rotate(45)');
      line.setAttribute('x1', '0'); line.setAttribute('y1', '0');
      line.setAttribute('x2', '0'); line.setAttribute('y2', '7');
      line.setAttribute('stroke', colour); line.setAttribute('stroke-width', '2.2');
      p.appendChild(line);
      page.defs.appendChild(p);
    }
    return 'url(#' + id + ')';
  }

  R.polygons = function (page, spec) {
    var o = spec.options, field = o.scenario_field;
    var st = L.extend({pane: o.pane || 'c15-areas', interactive: !!o.interactive,
                       className: 'c15-' + spec.key.split('_')[0]}, o.style);
    if (o.hatch) { st.fillColor = hatch(page, spec.key, o.hatch); }
    var shapes = L.geoJSON(blob(spec.data), {
      style: function () { return st; },
      filter: function (f) {
        if (!field) { return true; }
        return f.properties[field] === page.state.scenario;
      }
    });
    var layer = o.labels ? L.featureGroup([shapes, labelLayer(page, o.labels)]) : shapes;
    return {layer: layer, legend: function () { return {entries: spec.legend}; },
            refresh: function () {
              if (!field) { return; }
              shapes.clearLayers(); shapes.addData(blob(spec.data));
            }};
  };

  R.choropleth = function (page, spec) {
    var o = spec.options;
    function colourOf(v) {
      if (v === null || v === undefined) { return o.nodata; }
      var c = o.classes[0].colour;
      o.classes.forEach(function (k) { if (v >= k.lower) { c = k.colour; } });
      return c;
    }
    var shapes = L.geoJSON(blob(spec.data), {
      style: function (f) {
        return L.extend({className: 'c15-unit', fillColor: colourOf(
          f.properties.v[page.state.colour])}, o.style);
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(function () {
          var v = f.properties.v[page.state.colour];
          return esc(f.properties.title) + ' · ' + esc(v === null ? o.nodata_label : v + '%');
        }, {sticky: true});
        l.bindPopup(popupHtml(f.properties.title, f.properties.rows), {maxWidth: 440});
      }
    });
    var layer = L.featureGroup([shapes, labelLayer(page, o.labels)]);
    return {layer: layer, refresh: function () {
      shapes.setStyle(function (f) {
        return {fillColor: colourOf(f.properties.v[page.state.colour])};
      });
    }, legend: function () {
      var entries = o.classes.map(function (k) {
        return {symbol: {shape: 'fill', colour: k.colour}, text: k.label};
      });
      entries.push({symbol: {shape: 'fill', colour: o.nodata}, text: o.nodata_label});
      return {heading: o.heading + ': ' + (o.names[page.state.colour] || ''), entries: entries};
    }};
  };

  R.lines = function (page, spec) {
    var st = L.extend({pane: spec.options.pane === 'streets' ? 'c15-streets' : 'c15-lines',
                       interactive: false, className: 'c15-' + spec.key}, spec.options.style);
    return {layer: L.geoJSON(blob(spec.data), {style: function () { return st; }}),
            legend: function () { return {entries: spec.legend}; }};
  };

  R.points = function (page, spec) {
    var o = spec.options, d = blob(spec.data), k = o.category;
    var group = o.cluster ? L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 40, chunkedLoading: true,
      chunkProgress: function (done, total) {
        if (done === total && page.legend) { setTimeout(function () { page.sync(); }, 0); }
      },
      iconCreateFunction: function (c) {
        /* facilities, not markers: a grid cell counts its facilities */
        var n = 0;
        c.getAllChildMarkers().forEach(function (m) { n += m.options.count || 1; });
        return icon({shape: 'cluster'}, String(n), o.colour);
      }
    }) : L.layerGroup();
    var cat = page.catLabel(k), markers = [];
    for (var i = 0; i < d.x.length; i++) {
      if (d.k[i] !== k) { continue; }
      var m = L.marker([d.y[i], d.x[i]], {icon: icon({shape: 'dot'}, '', o.colour)});
      var rows = [[page.spec.labels.category || '', cat]];
      if (d.src[i]) { rows.push([page.spec.labels.source || '', d.src[i]]); }
      if (d.off[i]) { rows.push([page.spec.labels.status || '', page.spec.labels.off_network]); }
      m.bindTooltip(esc(d.n[i] || cat));
      m.bindPopup(popupHtml(d.n[i] || cat, rows));
      markers.push(m);
    }
    var cells = d.cells || {x: []};
    for (var j = 0; j < cells.x.length; j++) {
      if (cells.k[j] !== k) { continue; }
      var t = fmt(page.spec.labels.cell_popup || '{n}', {label: cat, n: cells.count[j],
                                                          cell: o.cell_m});
      var cm = L.marker([cells.y[j], cells.x[j]], {
        icon: icon({shape: 'cell'}, String(cells.count[j]), o.colour), count: cells.count[j]});
      cm.bindTooltip(esc(t));
      markers.push(cm);
    }
    if (o.cluster) { group.addLayers(markers); } else { markers.forEach(function (m) {
      group.addLayer(m); }); }
    /* the bubble is explained while some bubble of this layer is drawn */
    function hasClusters() {
      var any = false;
      if (!o.cluster || !page.map.hasLayer(group)) { return false; }
      group._featureGroup.eachLayer(function (l) { if (l instanceof L.MarkerCluster) { any = true; } });
      return any;
    }
    if (o.cluster) { group.on('animationend', function () { page.sync(); }); }
    return {layer: group, legend: function () {
      return {entries: spec.legend.filter(function (e) {
        return e.symbol.shape !== 'cluster' || hasClusters();
      })};
    }};
  };

  R.markers = function (page, spec) {
    var o = spec.options;
    var layer = L.geoJSON(blob(spec.data), {
      pointToLayer: function (f, ll) {
        var p = f.properties;
        var m = L.marker(ll, {
          icon: icon(o.symbol, o.text_field ? p[o.text_field] : undefined,
                     o.colour_field ? p[o.colour_field] : undefined),
          zIndexOffset: o.z || 0, riseOnHover: true
        });
        m.bindTooltip(esc(p.tip || p.title));
        m.bindPopup(popupHtml(p.title, p.rows), {maxWidth: 440});
        return m;
      }
    });
    return {layer: layer, legend: function () { return {entries: spec.legend}; }};
  };

  /* --- the page --------------------------------------------------------------------------- */
  function Page(root, spec) {
    this.spec = spec;
    this.state = L.extend({}, spec.state);
    this.layers = {};
    this.labelGroups = [];
    this.root = root;
  }

  Page.prototype.catLabel = function (i) {
    var c = this.layers.compounds;
    if (c && c.spec.options.cats[i]) { return c.spec.options.cats[i].label; }
    return '';
  };

  Page.prototype.titleText = function () {
    var s = this.spec, parts = [s.title], st = s.title_state || 'scenario';
    var g = s.groups.find(function (x) { return x.options && x.options.state === st; });
    var v = this.state[st], item = g && g.options.items.find(function (i) {
      return i.value === v; });
    if (item) { parts.push(item.label); }
    else if (s.labels['scenario_' + v]) { parts.push(s.labels['scenario_' + v]); }
    return parts.concat(s.subtitle || []);
  };

  Page.prototype.build = function () {
    var self = this, s = this.spec, root = this.root;
    root.innerHTML = '';
    var bar = el('header', 'c15-titlebar');
    var toggle = el('button', 'c15-panel-toggle', '&#9776; ' + esc(s.labels.layers || ''));
    toggle.type = 'button';
    this.titleEl = el('h1', 'c15-title');
    this.noticeEl = el('span', 'c15-notice');
    bar.appendChild(toggle); bar.appendChild(this.titleEl); bar.appendChild(this.noticeEl);
    var body = el('div', 'c15-body');
    this.panel = el('aside', 'c15-panel');
    var mapDiv = el('div', 'c15-map');
    body.appendChild(this.panel); body.appendChild(mapDiv);
    root.appendChild(bar); root.appendChild(body);
    if (window.innerWidth < 800) { root.classList.add('c15-panel-hidden'); }
    toggle.addEventListener('click', function () {
      root.classList.toggle('c15-panel-hidden');
      self.map.invalidateSize();
    });

    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', '0'); svg.setAttribute('height', '0');
    svg.setAttribute('aria-hidden', 'true'); svg.style.position = 'absolute';
    this.defs = document.createElementNS('http://www.w3.org/2000/svg', 'defs');
    svg.appendChild(this.defs); root.appendChild(svg);
    var map = this.map = L.map(mapDiv, {zoomSnap: 0.25, zoomDelta: 0.5, preferCanvas: false});
    [['c15-streets', 350], ['c15-areas', 410], ['c15-lines', 420], ['c15-labels', 450]]
      .forEach(function (p) {
        var pane = map.createPane(p[0]); pane.style.zIndex = p[1];
        if (p[0] === 'c15-labels') { pane.style.pointerEvents = 'none'; }
      });
    L.control.scale({metric: true, imperial: false}).addTo(map);
    this.tiles = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
      maxZoom: 19, attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">' +
        'OpenStreetMap</a> contributors' + (s.attribution ? ' · ' + esc(s.attribution) : '')
    });
    var loaded = 0, failed = 0;
    this.tiles.on('tileload', function () { loaded += 1; });
    this.tiles.on('tileerror', function () {
      failed += 1;
      if (failed >= 4 && !loaded) { self.tilesFailed(); }
    });
    map.attributionControl.setPrefix(false);

    s.layers.forEach(function (ls) {
      var r = R[ls.kind](self, ls);
      r.spec = ls;
      self.layers[ls.key] = r;
      window.circle15Layers[ls.key] = r.layer;
    });
    this.buildPanel();
    this.legend = L.control({position: 'bottomright'});
    this.legend.onAdd = function () {
      var d = el('div', 'c15-legend');
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d;
    };
    this.legend.addTo(map);
    this.applyBase();
    s.layers.forEach(function (ls) { if (ls.show) { map.addLayer(self.layers[ls.key].layer); } });
    this.sync();
    this.fit();
    map.on('zoomend moveend', function () { self.declutter(); });
    map.on('zoomend', function () { self.sync(); });
    map.on('overlayadd overlayremove layeradd', function () { self.declutter(); });
    this.declutter();
  };

  Page.prototype.tilesFailed = function () {
    if (this.offline) { return; }
    this.offline = true;
    var streets = this.layers.streets, words = this.spec.labels;
    this.noticeEl.textContent = (streets ? words.tiles_failed_streets : words.tiles_failed) || '';
    if (streets && !this.map.hasLayer(streets.layer)) {
      this.map.addLayer(streets.layer); this.sync();
    }
  };

  Page.prototype.applyBase = function () {
    if (this.state.base === 'osm') { this.map.addLayer(this.tiles); }
    else { this.map.removeLayer(this.tiles); }
    this.root.classList.toggle('c15-nobase', this.state.base !== 'osm');
  };

  Page.prototype.setState = function (key, value) {
    this.state[key] = value;
    if (key === 'base') { this.applyBase(); }
    var self = this;
    Object.keys(this.layers).forEach(function (k) {
      if (self.layers[k].refresh) { self.layers[k].refresh(); }
    });
    this.sync();
  };

  Page.prototype.toggle = function (key, on) {
    var l = this.layers[key].layer;
    if (on) { this.map.addLayer(l); } else { this.map.removeLayer(l); }
    this.sync();
    this.declutter();
  };

  function radio(name, checked, onChange) {
    var r = el('input'); r.type = 'radio'; r.name = name; r.checked = checked;
    r.addEventListener('change', onChange);
    return r;
  }
  function checkbox(checked, onChange) {
    var c = el('input'); c.type = 'checkbox'; c.checked = checked;
    c.addEventListener('change', onChange);
    return c;
  }

  Page.prototype.buildPanel = function () {
    var self = this, s = this.spec;
    this.panel.innerHTML = '';
    s.groups.forEach(function (g) {
      var sec = el('section', 'c15-group' + (g.collapsed ? ' c15-collapsed' : ''));
      sec.dataset.group = g.key;
      var h = el('h2', 'c15-group-title'); h.textContent = g.title;
      h.addEventListener('click', function () { sec.classList.toggle('c15-collapsed'); });
      sec.appendChild(h);
      var body = el('div', 'c15-group-body');
      var n = self['panel_' + g.kind](g, body);
      if (n === 0) { return; }
      sec.appendChild(body);
      self.panel.appendChild(sec);
    });
  };

  Page.prototype.panel_radio = function (g, body) {
    var self = this, o = g.options;
    o.items.forEach(function (it) {
      var lab = el('label', 'c15-row');
      var r = radio('c15-' + g.key, self.state[o.state] === it.value, function () {
        self.setState(o.state, it.value);
      });
      r.value = it.value;
      lab.appendChild(r); lab.appendChild(document.createTextNode(' ' + it.label));
      body.appendChild(lab);
    });
    return o.items.length;
  };

  Page.prototype.panel_layers = function (g, body) {
    var self = this, n = 0;
    this.spec.layers.forEach(function (ls) {
      if (ls.group !== g.key) { return; }
      var lab = el('label', 'c15-row');
      var c = checkbox(ls.show, function () { self.toggle(ls.key, c.checked); });
      c.dataset.layer = ls.key;
      lab.appendChild(c);
      var sym = ls.legend && ls.legend[0];
      if (sym) { lab.appendChild(el('span', 'c15-row-sym', symbolHtml(sym.symbol))); }
      lab.appendChild(document.createTextNode(' ' + ls.label));
      body.appendChild(lab);
      n += 1;
    });
    return n;
  };

  Page.prototype.panel_categories = function (g, body) {
    var self = this, s = this.spec, comp = this.layers.compounds;
    var cats = comp ? comp.spec.options.cats : [];
    var words = s.labels;
    var table = el('table', 'c15-cats');
    table.innerHTML = '<thead><tr><th></th><th>' + esc(words.col_colour) + '</th><th>' +
      esc(words.col_facilities) + '</th><th>' + esc(words.col_walk_area) + '</th></tr></thead>';
    var tb = el('tbody');
    function row(label, colour, value, keys) {
      var tr = el('tr'), name = el('td', 'c15-cat-name');
      if (colour) { name.appendChild(el('span', 'c15-row-sym', symbolHtml({shape: 'dot',
                                                                           colour: colour}))); }
      name.appendChild(document.createTextNode(label));
      tr.appendChild(name);
      var td = el('td');
      if (comp) {
        var r = radio('c15-colour', self.state.colour === value, function () {
          self.setState('colour', value);
        });
        r.value = value; r.title = label;
        td.appendChild(r);
      }
      tr.appendChild(td);
      keys.forEach(function (k) {
        var cell = el('td');
        if (k && self.layers[k]) {
          var ls = self.layers[k].spec;
          var c = checkbox(ls.show, function () { self.toggle(k, c.checked); });
          c.dataset.layer = k; c.title = ls.label;
          cell.appendChild(c);
        }
        tr.appendChild(cell);
      });
      tb.appendChild(tr);
    }
    if (comp) { row(g.options.all_label || '', null, 'all', [null, null]); }
    cats.forEach(function (c) {
      row(c.label, c.colour, c.key, ['facilities_' + c.key, 'isochrones_' + c.key]);
    });
    table.appendChild(tb);
    body.appendChild(table);
    return cats.length;
  };

  Page.prototype.sync = function () {
    var self = this, s = this.spec, map = this.map;
    this.titleEl.textContent = this.titleText().join(' · ');
    document.title = this.titleText().join(' · ');
    var box = this.legend.getContainer();
    var h = '<div class="c15-legend-head"><b>' + esc(s.labels.legend || '') +
      '</b><button type="button" class="c15-legend-toggle" aria-label="' +
      esc(s.labels.hide || '') + '">' + (this.legendHidden ? '&#9650;' : '&#9660;') +
      '</button></div><div class="c15-legend-body">';
    var seen = {};
    s.layers.forEach(function (ls) {
      var r = self.layers[ls.key];
      if (!map.hasLayer(r.layer)) { return; }
      var lg = r.legend();
      if (!lg || !lg.entries || !lg.entries.length) { return; }
      var head = lg.heading || ls.options.legend_heading;
      if (head && !seen['h|' + head]) {
        seen['h|' + head] = true;
        h += '<div class="c15-legend-h">' + esc(head) + '</div>';
      }
      lg.entries.forEach(function (e) {
        /* a symbol explained once (e.g. the cluster bubble of several categories) */
        var id = e.symbol.shape + '|' + e.text;
        if (seen[id]) { return; }
        seen[id] = true;
        h += '<div class="c15-legend-row" data-shape="' + esc(e.symbol.shape) +
          '" data-colour="' + esc(e.symbol.colour || '') + '" data-layer="' + esc(ls.key) +
          '">' + symbolHtml(e.symbol) + '<span>' + esc(e.text) +
          (e.count !== undefined ? ' <small>(' + esc(e.count) + ')</small>' : '') +
          '</span></div>';
      });
    });
    box.innerHTML = h + '</div>';
    box.classList.toggle('c15-legend-hidden', !!this.legendHidden);
    box.querySelector('.c15-legend-toggle').addEventListener('click', function () {
      self.legendHidden = !self.legendHidden;
      box.classList.toggle('c15-legend-hidden', self.legendHidden);
      this.innerHTML = self.legendHidden ? '&#9650;' : '&#9660;';
    });
    Array.prototype.forEach.call(this.panel.querySelectorAll('input[data-layer]'),
      function (c) { c.checked = map.hasLayer(self.layers[c.dataset.layer].layer); });
  };

  /* Fit the data beside the legend: leave the legend's strip free, right or bottom, whichever
   * shows the data larger. */
  Page.prototype.fit = function () {
    var map = this.map, b = L.latLngBounds(this.spec.bounds);
    var box = this.legend.getContainer().getBoundingClientRect();
    var right = L.point(box.width + 20, 10), bottom = L.point(10, box.height + 30);
    var zr = map.getBoundsZoom(b, false, right.add([10, 10]));
    var zb = map.getBoundsZoom(b, false, bottom.add([10, 10]));
    map.fitBounds(b, {paddingTopLeft: [10, 10], paddingBottomRight: zr >= zb ? right : bottom});
  };

  /* Hide unit labels that would overlap a label drawn before them. */
  Page.prototype.declutter = function () {
    var shown = [];
    this.labelGroups.forEach(function (g) {
      g.eachLayer(function (m) {
        var e = m.getElement();
        if (!e) { return; }
        e.style.visibility = 'visible';
        var r = e.firstChild ? e.firstChild.getBoundingClientRect() : e.getBoundingClientRect();
        var hit = shown.some(function (q) {
          return r.left < q.right && r.right > q.left && r.top < q.bottom && r.bottom > q.top;
        });
        if (hit) { e.style.visibility = 'hidden'; } else { shown.push(r); }
      });
    });
  };

  window.circle15Layers = window.circle15Layers || {};
  window.circle15Map = function (root, spec) {
    var page = new Page(root, spec);
    page.build();
    window.circle15Page = page;
    return page;
  };
  window.circle15Symbol = symbolHtml;
}());
