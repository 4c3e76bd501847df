// The admin view: fetches GET /api/responses.csv with the admin token and shows every stored answer as a table.
// Answers are participants' text: they go into the page through textContent only, so stored markup stays text.
'use strict';
(function () {
  var $ = function (id) {
    return document.getElementById(id);
  };

  /** RFC 4180 CSV (quoted cells, doubled quotes, newlines inside quotes) to rows of cells. */
  function parseCsv(text) {
    var rows = [];
    var row = [];
    var cell = '';
    var quoted = false;
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        row.push(cell);
        cell = '';
      } else if (c === '\n') {
        row.push(cell);
        rows.push(row);
        row = [];
        cell = '';
      } else if (c !== '\r') cell += c;
    }
    if (cell !== '' || row.length) {
      row.push(cell);
      rows.push(row);
    }
    return rows;
  }

  function render(csv) {
    var rows = parseCsv(csv);
    var header = rows.shift() || [];
    var head = $('answers').querySelector('thead tr');
    var body = $('answers').querySelector('tbody');
    head.textContent = '';
    body.textContent = '';
    header.forEach(function (name) {
      var th = document.createElement('th');
      th.textContent = name;
      head.appendChild(th);
    });
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (value, j) {
        var td = document.createElement('td');
        td.textContent = value;
        if (header[j] === 'answer') td.className = 'answer';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    $('answers').hidden = false;
    $('summary').textContent = rows.length + ' stored answer' + (rows.length === 1 ? '' : 's');
    var link = $('download');
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    link.hidden = false;
  }

  function load(token) {
    $('summary').textContent = 'Loading…';
    fetch('/api/responses.csv', { headers: { authorization: 'Bearer ' + token } })
      .then(function (res) {
        if (res.status === 401) throw new Error('the token was not accepted');
        if (!res.ok) throw new Error('HTTP ' + res.status);
        try {
          sessionStorage.setItem('tessera-admin', token);
        } catch (e) {
          /* keep nothing */
        }
        return res.text();
      })
      .then(render)
      .catch(function (err) {
        $('summary').textContent = 'Could not load the answers: ' + err.message + '.';
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      load($('token').value.trim());
    });
    var saved = null;
    try {
      saved = sessionStorage.getItem('tessera-admin');
    } catch (e) {
      saved = null;
    }
    if (saved) {
      $('token').value = saved;
      load(saved);
    } else $('token').focus();
  });
})();
