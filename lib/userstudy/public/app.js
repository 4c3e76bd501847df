// The participant page: one task at a time, keyboard friendly, progress shown, then a thank-you page. It talks to the
// three participant routes of the API (POST /api/participants, GET /api/tasks, POST /api/responses) and nothing else.
// Every text from a task set goes into the page through textContent, never as HTML.
'use strict';
(function () {
  var KEY = 'tessera-participant';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var state = { participant: null, tasks: [], queue: [], total: 0, done: 0, current: null, busy: false };

  function show(section) {
    ['welcome', 'task', 'done'].forEach(function (id) {
      $(id).hidden = id !== section;
    });
  }

  function status(text) {
    $('status').textContent = text || '';
  }

  function api(method, url, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (res) {
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { status: res.status, data: data };
        });
    });
  }

  function newParticipant() {
    return api('POST', '/api/participants').then(function (r) {
      if (r.status !== 201) throw new Error(r.data.error || 'could not register (HTTP ' + r.status + ')');
      state.participant = r.data.participant;
      try {
        localStorage.setItem(KEY, state.participant);
      } catch (e) {
        /* private mode: keep it in memory */
      }
    });
  }

  function loadTasks() {
    return api('GET', '/api/tasks?participant=' + encodeURIComponent(state.participant)).then(function (r) {
      if (r.status === 400 && state.participant) {
        // The server no longer knows this participant (a new database): start over as a new one.
        return newParticipant().then(loadTasks);
      }
      if (r.status !== 200) throw new Error(r.data.error || 'could not load the tasks (HTTP ' + r.status + ')');
      state.tasks = r.data.tasks;
      state.total = state.tasks.length;
      state.queue = state.tasks.filter(function (t) {
        return !t.answered;
      });
      state.done = state.total - state.queue.length;
    });
  }

  function next() {
    state.current = state.queue.shift() || null;
    if (!state.current) {
      show('done');
      $('done').querySelector('h1').focus();
      return;
    }
    render(state.current);
  }

  function optionId(name, i) {
    return 'f-' + name + '-' + i;
  }

  function render(task) {
    show('task');
    $('progress').max = state.total;
    $('progress').value = state.done;
    $('progress-text').textContent = 'Task ' + (state.done + 1) + ' of ' + state.total;
    $('prompt').textContent = task.prompt;
    $('error').textContent = '';
    var images = $('images');
    images.textContent = '';
    task.images.forEach(function (src, i) {
      var fig = document.createElement('figure');
      var img = document.createElement('img');
      var name = task.images.length > 1 ? String.fromCharCode(65 + i) : '';
      img.src = src;
      img.alt = 'image ' + (name || i + 1) + ' of ' + task.images.length;
      fig.appendChild(img);
      if (name) {
        var cap = document.createElement('figcaption');
        cap.textContent = name;
        fig.appendChild(cap);
      }
      images.appendChild(fig);
    });
    var fields = $('fields');
    fields.textContent = '';
    Object.keys(task.fields).forEach(function (name) {
      var f = task.fields[name];
      var set = document.createElement('fieldset');
      set.dataset.field = name;
      set.dataset.type = f.type;
      var legend = document.createElement('legend');
      legend.textContent = (f.label || name) + (f.optional ? ' (optional)' : '');
      set.appendChild(legend);
      if (f.type === 'enum') {
        f.values.forEach(function (value, i) {
          var label = document.createElement('label');
          var input = document.createElement('input');
          input.type = 'radio';
          input.name = name;
          input.value = value;
          input.id = optionId(name, i);
          label.htmlFor = input.id;
          label.appendChild(input);
          label.appendChild(document.createTextNode(' ' + value + ' '));
          if (i < 9) {
            var k = document.createElement('kbd');
            k.textContent = String(i + 1);
            label.appendChild(k);
          }
          set.appendChild(label);
        });
      } else {
        var input = document.createElement('input');
        input.name = name;
        input.id = 'f-' + name;
        input.setAttribute('aria-label', f.label || name);
        if (f.type === 'integer') {
          input.type = 'number';
          input.min = String(f.min);
          input.max = String(f.max);
          input.step = '1';
          input.placeholder = f.min + ' to ' + f.max;
        } else {
          input.type = 'text';
          input.maxLength = f.maxLength;
          input.autocomplete = 'off';
        }
        set.appendChild(input);
      }
      fields.appendChild(set);
    });
    var first = fields.querySelector('input');
    if (first) first.focus();
  }

  /** The answer from the form, or an error naming the first field that is missing or out of bounds. */
  function collect(task) {
    var answer = {};
    var names = Object.keys(task.fields);
    for (var i = 0; i < names.length; i++) {
      var name = names[i];
      var f = task.fields[name];
      var label = f.label || name;
      if (f.type === 'enum') {
        var checked = document.querySelector('input[name="' + CSS.escape(name) + '"]:checked');
        if (checked) answer[name] = checked.value;
        else if (!f.optional) return { error: 'Please choose an option for "' + label + '".', focus: optionId(name, 0) };
      } else {
        var raw = $('f-' + name).value.trim();
        if (raw === '') {
          if (!f.optional) return { error: 'Please fill in "' + label + '".', focus: 'f-' + name };
          continue;
        }
        if (f.type === 'integer') {
          var n = Number(raw);
          if (!Number.isInteger(n) || n < f.min || n > f.max) {
            return { error: '"' + label + '" must be a whole number from ' + f.min + ' to ' + f.max + '.', focus: 'f-' + name };
          }
          answer[name] = n;
        } else {
          answer[name] = raw.slice(0, f.maxLength);
        }
      }
    }
    return { answer: answer };
  }

  function submit(ev) {
    ev.preventDefault();
    if (state.busy || !state.current) return;
    var task = state.current;
    var got = collect(task);
    if (got.error) {
      $('error').textContent = got.error;
      $(got.focus).focus();
      return;
    }
    state.busy = true;
    $('submit').disabled = true;
    status('Saving…');
    api('POST', '/api/responses', { participant: state.participant, study: task.study, task: task.id, answer: got.answer })
      .then(function (r) {
        if (r.status === 201 || r.status === 409) {
          state.done += 1;
          status('');
          next();
        } else {
          $('error').textContent = r.data.error || 'Could not save (HTTP ' + r.status + ').';
          status('');
        }
      })
      .catch(function () {
        $('error').textContent = 'Could not reach the server; your answer is not saved yet. Press Enter to try again.';
        status('');
      })
      .then(function () {
        state.busy = false;
        $('submit').disabled = false;
      });
  }

  // Number keys pick an option: in the focused group, else in the first group with no choice yet.
  function onKey(ev) {
    if ($('task').hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var target = ev.target;
    if (target && target.tagName === 'INPUT' && (target.type === 'text' || target.type === 'number')) return;
    if (!/^[1-9]$/.test(ev.key)) return;
    var sets = Array.prototype.slice.call(document.querySelectorAll('#fields fieldset[data-type="enum"]'));
    var focused = target && target.closest ? target.closest('fieldset[data-type="enum"]') : null;
    var set =
      focused ||
      sets.filter(function (s) {
        return !s.querySelector('input:checked');
      })[0] ||
      sets[0];
    if (!set) return;
    var option = set.querySelectorAll('input[type="radio"]')[Number(ev.key) - 1];
    if (!option) return;
    option.checked = true;
    option.focus();
    ev.preventDefault();
  }

  function fail(err) {
    status('');
    $('error').textContent = '';
    show('welcome');
    $('welcome').querySelector('p').textContent = 'Something went wrong: ' + err.message + ' Reload the page to try again.';
  }

  function begin() {
    status('Loading…');
    var ready = state.participant ? Promise.resolve() : newParticipant();
    ready
      .then(loadTasks)
      .then(function () {
        status('');
        next();
      })
      .catch(fail);
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('form').addEventListener('submit', submit);
    document.addEventListener('keydown', onKey);
    $('done').querySelector('h1').tabIndex = -1;
    try {
      state.participant = localStorage.getItem(KEY);
    } catch (e) {
      state.participant = null;
    }
    if (state.participant) {
      begin();
    } else {
      show('welcome');
      $('start').addEventListener('click', begin);
      $('start').focus();
    }
  });
})();
