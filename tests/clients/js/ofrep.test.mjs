// The JavaScript OpenFeature web SDK (@openfeature/web-sdk 1.10.0) with its OFREP
// provider (@openfeature/ofrep-web-provider 0.4.3) against a real kickit-edge.
// Run by tests/runtime/test_ofrep_clients.py, which starts the edge and sets:
//   OFREP_BASE_URL   the edge, e.g. http://127.0.0.1:8000
//   OFREP_KEY        the demo app's key
//   OFREP_REPUBLISH  a JSON argv that publishes a snapshot where the iOS minimum is soft
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { OpenFeature, ErrorCode, ProviderEvents, StandardResolutionReasons } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const baseUrl = process.env.OFREP_BASE_URL;
const key = process.env.OFREP_KEY;
const republish = JSON.parse(process.env.OFREP_REPUBLISH ?? 'null');
const STORE_IOS = 'https://apps.apple.com/app/id000000000';
const IOS_120 = { targetingKey: 'user-1', appVersion: '1.2.0', platform: 'ios', locale: 'de-DE' };

// Every answer the provider gets: status, the If-None-Match it sent, the ETag it got.
function recordingFetch(log) {
  return async (request, init) => {
    const response = await fetch(request, init);
    log.push({ status: response.status, sent: request.headers.get('if-none-match'), etag: response.headers.get('etag') });
    return response;
  };
}

function provider(options) {
  // cacheMode 'disabled': node has no localStorage; pollInterval in milliseconds.
  return new OFREPWebProvider({ baseUrl, cacheMode: 'disabled', ...options });
}

async function eventually(condition, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the OFREP web provider against kickit-edge', async (t) => {
  assert.ok(baseUrl && key && republish, 'run me through tests/runtime/test_ofrep_clients.py');
  const log = [];
  await OpenFeature.setContext(IOS_120);
  await OpenFeature.setProviderAndWait(provider({
    headers: [['X-API-Key', key]], pollInterval: 200, fetchImplementation: recordingFetch(log),
  }));
  const client = OpenFeature.getClient();

  await t.test('bulk evaluation answers every flag', () => {
    const upgrade = client.getStringDetails('kickit.upgrade', 'none');
    assert.equal(upgrade.value, 'hard');
    assert.equal(upgrade.variant, 'hard');
    assert.equal(upgrade.reason, StandardResolutionReasons.TARGETING_MATCH);
    assert.deepEqual(upgrade.flagMetadata, {
      rule: 'minimum:ios/production', storeUrl: STORE_IOS,
      message: 'Diese Version wird nicht mehr unterstuetzt. Bitte aktualisiere die App.',
    });
    assert.equal(client.getBooleanValue('kickit.force-update', false), true);
    assert.equal(client.getBooleanValue('kickit.maintenance', true), false);
    assert.equal(client.getStringValue('kickit.target', 'soft'), 'none');
    assert.equal(log[0].status, 200);
  });

  await t.test('an unknown flag is FLAG_NOT_FOUND and gets the default', () => {
    const unknown = client.getStringDetails('kickit.nope', 'fallback');
    assert.equal(unknown.value, 'fallback');
    assert.equal(unknown.errorCode, ErrorCode.FLAG_NOT_FOUND);
  });

  await t.test('polling revalidates with the ETag and gets 304', async () => {
    const first = log[0].etag;
    assert.match(first, /^"[0-9a-f]{32}"$/);
    await eventually(() => log.some((entry) => entry.status === 304 && entry.sent === first), 'a 304 to If-None-Match');
  });

  await t.test('a context change is evaluated again', async () => {
    await OpenFeature.setContext({ ...IOS_120, appVersion: '2.6.0' });
    const upgrade = client.getStringDetails('kickit.upgrade', 'soft');
    assert.equal(upgrade.value, 'none');
    assert.equal(upgrade.reason, StandardResolutionReasons.DEFAULT);
    await OpenFeature.setContext(IOS_120);
    assert.equal(client.getStringValue('kickit.upgrade', 'none'), 'hard');
    // The same context again (what an app does on return to the foreground) revalidates: 304.
    const etag = log.at(-1).etag;
    const seen = log.length;
    await OpenFeature.setContext({ ...IOS_120 });
    assert.ok(log.slice(seen).some((entry) => entry.status === 304 && entry.sent === etag));
  });

  await t.test('a new snapshot reaches the client by polling', async () => {
    let changed = false;
    client.addHandler(ProviderEvents.ConfigurationChanged, () => { changed = true; });
    execFileSync(republish[0], republish.slice(1));
    await eventually(() => changed && client.getStringValue('kickit.upgrade', 'none') === 'soft', 'the new snapshot');
    assert.equal(client.getBooleanValue('kickit.force-update', true), false);
  });

  await t.test('a context that lacks what a flag needs fails that flag only', async () => {
    await OpenFeature.setContext('partial', { targetingKey: 'user-2', environment: 'staging' });
    await OpenFeature.setProviderAndWait('partial', provider({ headers: [['Authorization', `Bearer ${key}`]] }));
    const partial = OpenFeature.getClient('partial');
    const upgrade = partial.getStringDetails('kickit.upgrade', 'none');
    assert.equal(upgrade.errorCode, ErrorCode.INVALID_CONTEXT);
    assert.equal(upgrade.errorMessage, 'appVersion is required to evaluate kickit.upgrade');
    const maintenance = partial.getBooleanDetails('kickit.maintenance', false);
    assert.equal(maintenance.value, true);
    assert.equal(maintenance.flagMetadata.title, 'Scheduled Maintenance');
  });

  await t.test('a bad key is fatal and every flag gets its default', async () => {
    await assert.rejects(
      OpenFeature.setProviderAndWait('bad-key', provider({ headers: [['X-API-Key', `0000000000000000.${'0'.repeat(64)}`]] })),
    );
    const refused = OpenFeature.getClient('bad-key').getStringDetails('kickit.upgrade', 'none');
    assert.equal(refused.value, 'none');
    assert.equal(refused.errorCode, ErrorCode.PROVIDER_FATAL);
  });

  await OpenFeature.close();
});
