import { cleanTerminalText, Notebook, notebookHtml } from '../../lib/report/html';
import { PLOTLY_MIME } from '../../lib/plot/show';

describe('report HTML', () => {
  it('collapses carriage-return redraws and drops ANSI colours', () => {
    expect(cleanTerminalText('\rbar 1/3\rbar 2/3\rbar 3/3\ndone\n')).toBe('bar 3/3\ndone\n');
    expect(cleanTerminalText('\x1b[2Kred\x1b[0m')).toBe('red');
  });

  it('renders markdown, prompts with execution counts, streams, plots, images and errors', () => {
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: 'markdown', source: ['# Title\n', 'some *text*'] },
        {
          cell_type: 'code',
          source: 'show(x)',
          execution_count: 3,
          outputs: [
            { output_type: 'stream', name: 'stdout', text: 'hello <world>\n' },
            {
              output_type: 'display_data',
              data: { [PLOTLY_MIME]: { data: [{ type: 'bar', y: [1] }], layout: {} }, 'text/html': '<div>html-fallback-7731</div>' },
            },
            { output_type: 'display_data', data: { 'image/png': 'AAAA' } },
            { output_type: 'error', ename: 'CellError', evalue: 'boom', traceback: [] },
          ],
        },
      ],
    };
    const html = notebookHtml(nb, 'demo');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<em>text</em>');
    expect(html).toContain('In [3]:');
    expect(html).toContain('hello &lt;world&gt;');
    expect(html).toContain('Plotly.newPlot');
    expect(html).not.toContain('html-fallback-7731'); // the plotly JSON wins over the HTML fallback
    expect(html).toContain('data:image/png;base64,AAAA');
    expect(html).toContain('CellError: boom');
    // plotly is inlined, so the page works offline
    expect(html.length).toBeGreaterThan(1_000_000);
  });

  it('does not inline plotly when there is no plot', () => {
    const html = notebookHtml({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'markdown', source: 'x' }] }, 't');
    expect(html.length).toBeLessThan(10_000);
  });
});
