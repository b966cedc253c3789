// The inpainting brush: paints pure white over an aligned face in the browser and hands the painted
// face to the face input as an ordinary upload (the guarded upload route, the same /inpaint call an API
// user makes). Gradio's ImageEditor was not used: it sends its layers through a route that keeps
// whatever a client sends per client id, which a public server cannot allow.
const canvas = element.querySelector("canvas");
const note = element.querySelector(".painter-note");
const brush = element.querySelector("input[type=range]");
const undo = element.querySelector(".painter-undo");
const apply = element.querySelector(".painter-apply");
const view = canvas.getContext("2d");
// the strokes are kept apart and made hard-edged when applied: the model fills only pixels that are
// exactly white, and a soft brush edge would leave a ring of near-white pixels that nobody asked for
const strokes = document.createElement("canvas");
const ink = strokes.getContext("2d");
let face = null;        // the face as uploaded, without paint
let faceName = "face";
let ownUpload = false;  // the next face shown in the input is the painted one this painter sent
let painting = false;
let last = null;

function faceImage() {
  return document.querySelector("#task-face img");
}

function redraw() {
  if (!face) return;
  view.drawImage(face, 0, 0, canvas.width, canvas.height);
  view.drawImage(strokes, 0, 0);
}

function setFace(img) {
  canvas.width = strokes.width = img.naturalWidth;
  canvas.height = strokes.height = img.naturalHeight;
  face = img;
  ink.clearRect(0, 0, strokes.width, strokes.height);
  redraw();
  note.textContent = "Drag over the face to paint what should be redrawn white, then use the painted face.";
  undo.disabled = apply.disabled = true;
}

function follow() {
  const img = faceImage();
  if (!img || !img.src) {
    if (!ownUpload) { face = null; undo.disabled = apply.disabled = true; }
    return;
  }
  if (img.dataset.painterSeen === img.src) return;
  img.dataset.painterSeen = img.src;
  const copy = new Image();
  copy.onload = () => {
    if (ownUpload) {  // the painted face came back: paint on, from it
      ownUpload = false;
      face = copy;
      ink.clearRect(0, 0, strokes.width, strokes.height);
      redraw();
      note.textContent = "The painted face is in the input: press Fill the white region.";
      return;
    }
    faceName = (decodeURIComponent(img.src.split("/").pop().split("?")[0]) || "face").replace(/\.[^.]*$/, "");
    setFace(copy);
  };
  copy.src = img.src;
}

new MutationObserver(follow).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
}

function stroke(from, to) {
  const width = Number(brush.value) * canvas.width / 512;
  for (const context of [ink, view]) {
    context.strokeStyle = "#ffffff";
    context.lineWidth = width;
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from[0], from[1]);
    context.lineTo(to[0], to[1]);
    context.stroke();
  }
  undo.disabled = apply.disabled = false;
}

canvas.addEventListener("pointerdown", (event) => {
  if (!face) return;
  painting = true;
  canvas.setPointerCapture(event.pointerId);
  last = point(event);
  stroke(last, last);
  event.preventDefault();
});
canvas.addEventListener("pointermove", (event) => {
  if (!painting) return;
  const next = point(event);
  stroke(last, next);
  last = next;
});
for (const end of ["pointerup", "pointercancel"]) canvas.addEventListener(end, () => { painting = false; });

undo.addEventListener("click", () => {
  ink.clearRect(0, 0, strokes.width, strokes.height);
  redraw();
  undo.disabled = apply.disabled = true;
});

apply.addEventListener("click", () => {
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const context = out.getContext("2d");
  context.drawImage(face, 0, 0, out.width, out.height);
  const pixels = context.getImageData(0, 0, out.width, out.height);
  const mask = ink.getImageData(0, 0, out.width, out.height).data;
  for (let i = 0; i < mask.length; i += 4) {
    if (mask[i + 3] >= 128) pixels.data[i] = pixels.data[i + 1] = pixels.data[i + 2] = pixels.data[i + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
  out.toBlob((blob) => {
    const input = document.querySelector("#task-face input[type=file]");
    if (!blob || !input) {
      note.textContent = "The painted face could not be handed over: clear the face input and try again.";
      return;
    }
    const files = new DataTransfer();
    files.items.add(new File([blob], `${faceName}_painted.png`, { type: "image/png" }));
    input.files = files.files;
    ownUpload = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    apply.disabled = true;
  }, "image/png");
});
