// genlab explore: the page's behaviour. Vanilla JS, no external resources; every image is a PNG
// decoded by the server (genlab/explore/server.py documents the requests).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // matplotlib's tab10, then tab20's light colours, as genlab's embedding figures colour labels
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
    "#c7c7c7", "#dbdb8d", "#9edae5"];
  const canvas = $("map");
  const context = canvas.getContext("2d");
  let state = null;
  let bounds = null;
  let current = { z: null, label: 0 }; // the code being decoded (a GAN: noise z and class)
  let marker = null; // where the current code sits on the map, or null
  let hovered = -1;
  let hoverRequest = 0;
  let path = null; // the interpolation path on the map [[x, y], ...]
  const ends = { a: null, b: null };
  let seed = 0;
  let decoding = false;
  let decodeAgain = false;

  function say(text, error) {
    const line = $("status");
    line.textContent = text;
    line.className = error ? "error" : "";
  }

  async function ask(url, options) {
    const response = await fetch(url, options);
    if (!response.ok) throw new Error((await response.text()).trim() || response.statusText);
    return response;
  }

  const json = async (url, options) => (await ask(url, options)).json();
  const posting = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  // The PNG as a data: URL, so the image element holds the very bytes the server returned.
  async function png(url, options) {
    const blob = await (await ask(url, options)).blob();
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  // -- the map --------------------------------------------------------------------------------
  function computeBounds(points) {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const [x, y] of points) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const padX = Math.max((x1 - x0) * 0.1, 1e-3), padY = Math.max((y1 - y0) * 0.1, 1e-3);
    return { x0: x0 - padX, x1: x1 + padX, y0: y0 - padY, y1: y1 + padY };
  }

  // The plotting area inside the canvas: the margins hold the axes' ticks and names.
  const MARGIN = { left: 46, right: 10, top: 10, bottom: 38 };

  function area() {
    const size = canvas.clientWidth;
    return { x: MARGIN.left, y: MARGIN.top, w: Math.max(1, size - MARGIN.left - MARGIN.right),
      h: Math.max(1, size - MARGIN.top - MARGIN.bottom) };
  }

  function toPixel(point) {
    const a = area();
    return [a.x + (point[0] - bounds.x0) / (bounds.x1 - bounds.x0) * a.w,
      a.y + (1 - (point[1] - bounds.y0) / (bounds.y1 - bounds.y0)) * a.h];
  }

  function fromPixel(px, py) {
    const a = area();
    return [bounds.x0 + (px - a.x) / a.w * (bounds.x1 - bounds.x0),
      bounds.y0 + (1 - (py - a.y) / a.h) * (bounds.y1 - bounds.y0)];
  }

  // About five round tick values (1, 2 or 5 times a power of ten apart) between low and high.
  function ticks(low, high) {
    const raw = (high - low) / 5;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const values = [];
    for (let v = Math.ceil(low / step) * step; v <= high + 1e-9 * step; v += step) values.push(v);
    return { values, digits: Math.max(0, -Math.floor(Math.log10(step))) };
  }

  function drawAxes() {
    const a = area();
    context.strokeStyle = "#888";
    context.lineWidth = 1;
    context.strokeRect(a.x, a.y, a.w, a.h);
    context.fillStyle = "#444";
    context.font = "11px sans-serif";
    const x = ticks(bounds.x0, bounds.x1), y = ticks(bounds.y0, bounds.y1);
    context.textAlign = "center";
    context.textBaseline = "top";
    x.values.forEach((v) => {
      const [px] = toPixel([v, bounds.y0]);
      context.beginPath(); context.moveTo(px, a.y + a.h); context.lineTo(px, a.y + a.h + 4); context.stroke();
      context.fillText(v.toFixed(x.digits), px, a.y + a.h + 5);
    });
    context.fillText(state.map.axes[0], a.x + a.w / 2, a.y + a.h + 21);
    context.textAlign = "right";
    context.textBaseline = "middle";
    y.values.forEach((v) => {
      const [, py] = toPixel([bounds.x0, v]);
      context.beginPath(); context.moveTo(a.x - 4, py); context.lineTo(a.x, py); context.stroke();
      context.fillText(v.toFixed(y.digits), a.x - 6, py);
    });
    context.save();
    context.translate(11, a.y + a.h / 2);
    context.rotate(-Math.PI / 2);
    context.textAlign = "center";
    context.fillText(state.map.axes[1], 0, 0);
    context.restore();
  }

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const size = Math.max(1, Math.round(canvas.clientWidth * ratio));
    if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
    draw();
  }

  function dot(x, y, radius, colour) {
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.fillStyle = colour;
    context.fill();
  }

  function tag(point, text, colour) {
    const [x, y] = toPixel(point);
    dot(x, y, 6, colour);
    context.fillStyle = "#fff";
    context.font = "bold 9px sans-serif";
    context.textAlign = "center";
    context.textBaseline = "middle";
    context.fillText(text, x, y + 0.5);
  }

  function draw() {
    if (!state) return;
    const ratio = canvas.width / Math.max(1, canvas.clientWidth);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, canvas.clientWidth, canvas.clientWidth);
    drawAxes();
    const { points, labels } = state.map;
    context.globalAlpha = 0.75;
    for (let i = 0; i < points.length; i++) {
      const [x, y] = toPixel(points[i]);
      dot(x, y, 2.2, PALETTE[labels[i] % PALETTE.length]);
    }
    context.globalAlpha = 1;
    if (path) {
      context.strokeStyle = "#000";
      context.lineWidth = 1.5;
      context.beginPath();
      path.forEach((point, i) => { const [x, y] = toPixel(point); i ? context.lineTo(x, y) : context.moveTo(x, y); });
      context.stroke();
      path.forEach((point) => { const [x, y] = toPixel(point); dot(x, y, 3, "#000"); });
    }
    if (hovered >= 0) {
      const [x, y] = toPixel(points[hovered]);
      context.strokeStyle = "#000";
      context.lineWidth = 1.5;
      context.beginPath();
      context.arc(x, y, 5, 0, 2 * Math.PI);
      context.stroke();
    }
    if (ends.a && ends.a.at) tag(ends.a.at, "A", "#444");
    if (ends.b && ends.b.at) tag(ends.b.at, "B", "#444");
    if (marker) {
      const [x, y] = toPixel(marker);
      context.strokeStyle = "#fff";
      context.lineWidth = 4;
      cross(x, y);
      context.strokeStyle = "#d00";
      context.lineWidth = 2;
      cross(x, y);
    }
  }

  function cross(x, y) {
    context.beginPath();
    context.moveTo(x - 7, y - 7); context.lineTo(x + 7, y + 7);
    context.moveTo(x - 7, y + 7); context.lineTo(x + 7, y - 7);
    context.stroke();
  }

  function nearest(px, py, within) {
    let best = -1, distance = within * within;
    state.map.points.forEach((point, i) => {
      const [x, y] = toPixel(point);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d <= distance) { best = i; distance = d; }
    });
    return best;
  }

  function pointer(event) {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left - canvas.clientLeft, event.clientY - box.top - canvas.clientTop];
  }

  async function hover(event) {
    const [px, py] = pointer(event);
    const i = nearest(px, py, 8);
    if (i === hovered || i < 0) return;
    hovered = i;
    draw();
    const request = ++hoverRequest;
    const name = state.map.names[state.map.labels[i]];
    try {
      const image = await png(`/api/example?i=${i}&kind=image`);
      const reconstruction = state.kind === "encoder" ? await png(`/api/example?i=${i}&kind=reconstruction`) : null;
      if (request !== hoverRequest) return;
      $("hover-image").src = image;
      if (reconstruction) $("hover-reconstruction").src = reconstruction;
      $("hover-caption").textContent = `point ${i}: ${name}`;
    } catch (error) { say(error.message, true); }
  }

  function project(z) {
    const { mean, components } = state.map;
    return components.map((row) => row.reduce((sum, c, k) => sum + c * (z[k] - mean[k]), 0));
  }

  async function click(event) {
    const [px, py] = pointer(event);
    // A generator's map is of features, which no code maps back to: a click picks the nearest sample.
    const i = nearest(px, py, state.kind === "generator" ? Infinity : 6);
    try {
      if (i >= 0) {
        const code = await json(`/api/code?i=${i}`);
        setCode(code.z, code.label, state.map.points[i], `point ${i} (${state.map.names[state.map.labels[i]]})`);
      } else {
        const a = area();
        if (px < a.x || px > a.x + a.w || py < a.y || py > a.y + a.h) return; // the axes' margins
        const [x, y] = fromPixel(px, py);
        const { mean, components } = state.map;
        const z = mean.map((m, k) => m + x * components[0][k] + y * components[1][k]);
        setCode(z, null, [x, y], `map location (${x.toFixed(2)}, ${y.toFixed(2)})`);
      }
    } catch (error) { say(error.message, true); }
  }

  // -- the code being decoded -----------------------------------------------------------------
  function setCode(z, label, at, caption) {
    current.z = z.slice();
    if (label !== null && label !== undefined) {
      current.label = label;
      $("class-select").value = String(label);
    }
    marker = at;
    $("decoded-caption").textContent = caption;
    ["set-a", "set-b"].forEach((id) => { $(id).disabled = false; });
    updateSliders();
    draw();
    decode();
  }

  async function decode() {
    if (decoding) { decodeAgain = true; return; }
    decoding = true;
    try {
      const body = { z: current.z };
      if (state.classes) body.label = current.label;
      $("decoded").src = await png("/api/decode", posting(body));
      say(`${state.model} on ${state.data}: ready`);
    } catch (error) { say(error.message, true); }
    decoding = false;
    if (decodeAgain) { decodeAgain = false; decode(); }
  }

  function coefficient(i) {
    const { basis, origin } = state.sliders;
    return basis[i].reduce((sum, b, k) => sum + b * (current.z[k] - origin[k]), 0);
  }

  function buildSliders() {
    const holder = $("sliders");
    const { names, ranges } = state.sliders;
    names.forEach((name, i) => {
      const row = document.createElement("label");
      row.className = "slider";
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: ranges[i][0], max: ranges[i][1], step: (ranges[i][1] - ranges[i][0]) / 400 });
      input.id = `slider-${i}`;
      const value = document.createElement("span");
      value.id = `slider-value-${i}`;
      row.append(name, input, value);
      input.addEventListener("input", () => {
        const delta = Number(input.value) - coefficient(i);
        state.sliders.basis[i].forEach((b, k) => { current.z[k] += delta * b; });
        value.textContent = Number(input.value).toFixed(2);
        if (state.kind === "encoder") marker = project(current.z);
        $("decoded-caption").textContent = `${name} = ${Number(input.value).toFixed(2)}`;
        draw();
        decode();
      });
      holder.append(row);
    });
  }

  function updateSliders() {
    state.sliders.names.forEach((_, i) => {
      const value = coefficient(i);
      $(`slider-${i}`).value = value;
      $(`slider-value-${i}`).textContent = value.toFixed(2);
    });
  }

  // -- interpolation --------------------------------------------------------------------------
  function setEnd(which) {
    ends[which] = { z: current.z.slice(), label: current.label, at: marker };
    $("interpolate").disabled = !(ends.a && ends.b);
    draw();
  }

  async function interpolate() {
    const steps = Math.min(Math.max(Math.round(Number($("steps").value)) || 8, 2), state.max_steps);
    $("steps").value = steps;
    const body = { a: ends.a.z, b: ends.b.z, steps };
    if (state.classes) body.label = current.label;
    try {
      const result = await json("/api/interpolate", posting(body));
      const strip = $("strip");
      strip.replaceChildren(...result.images.map((data, i) => {
        const image = document.createElement("img");
        image.src = `data:image/png;base64,${data}`;
        image.alt = `step ${i + 1} of ${steps}`;
        return image;
      }));
      path = result.path;
      const how = result.spherical ? "the great circle (a Gaussian latent)" : "the straight line";
      const where = state.kind === "generator" ? "placed on the map by the features of each decoded image" : "drawn on the map";
      $("strip-note").textContent = `${steps} images along ${how} from A to B; the path is ${where}`;
      draw();
    } catch (error) { say(error.message, true); }
  }

  // -- a generator's start ------------------------------------------------------------------
  async function newStart(next) {
    seed = next;
    try {
      const start = await json(`/api/start?seed=${seed}`);
      $("start-seed").textContent = `random start, seed ${seed}`;
      setCode(start.z, null, null, `random start, seed ${seed}`);
    } catch (error) { say(error.message, true); }
  }

  // -- start ------------------------------------------------------------------------------------
  async function start() {
    try {
      state = await json("/api/state");
    } catch (error) { say(`cannot load the run's map: ${error.message}`, true); return; }
    $("title").textContent = `${state.model} on ${state.data}: ${state.run}`;
    $("map-method").textContent = `${state.map.method}; ${state.map.source}`;
    $("map-note").textContent = state.map.note;
    $("slider-note").textContent = state.sliders.note;
    canvas.dataset.points = state.map.points.length;
    const counts = state.map.names.map(() => 0);
    state.map.labels.forEach((label) => { counts[label] += 1; });
    $("legend").replaceChildren(...state.map.names.map((name, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = PALETTE[i % PALETTE.length];
      item.append(swatch, `${name} (${counts[i]})`);
      return item;
    }).filter((_, i) => counts[i] > 0));
    bounds = computeBounds(state.map.points);
    buildSliders();
    canvas.addEventListener("mousemove", hover);
    canvas.addEventListener("click", click);
    window.addEventListener("resize", resize);
    $("set-a").addEventListener("click", () => setEnd("a"));
    $("set-b").addEventListener("click", () => setEnd("b"));
    $("interpolate").addEventListener("click", interpolate);
    resize();
    if (state.kind === "generator") {
      $("hover-reconstruction-figure").hidden = true;
      $("generator-controls").hidden = false;
      if (state.classes) {
        $("class-label").hidden = false;
        $("class-select").replaceChildren(...state.classes.map((name, i) => new Option(name, String(i))));
        $("class-select").addEventListener("change", () => { current.label = Number($("class-select").value); decode(); });
      }
      $("new-start").addEventListener("click", () => newStart(seed + 1));
      seed = state.seed;
      await newStart(seed);
    } else {
      const code = await json("/api/code?i=0");
      setCode(code.z, null, state.map.points[0], `point 0 (${state.map.names[state.map.labels[0]]})`);
    }
    window.explorer = {
      points: state.map.points.length,
      pixelOf: (i) => toPixel(state.map.points[i]),
      area,
    };
    document.body.dataset.ready = "1";
    window.genlabReadyMs = performance.now();
  }

  start();
})();
