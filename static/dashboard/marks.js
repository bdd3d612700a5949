// The page's chart marks (alerts and actions), from the timeline to the charts. Kept here as
// well as sent as an event, so that a chart made after the timeline's first answer still
// gets them (the modules load in either order).
let current = [];

export function setMarks(marks) {
  current = marks;
  document.dispatchEvent(new CustomEvent("fleetdeck:marks", { detail: marks }));
}

export function currentMarks() {
  return current;
}
