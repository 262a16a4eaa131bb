// Backstage new-backend-system registration (needs @backstage/backend-plugin-api and express in the Backstage app;
// they are peer dependencies, not installed in this repository). Config (app-config.yaml):
//   sloEngine: { baseUrl: https://.../v1, region: eu-west-1, apiKey: ${SLO_ENGINE_API_KEY} }
// Credentials come from the default AWS chain of the Backstage backend (the Backstage role).
import { SloEngineClient } from './client.js';
import { createSloEngineHandler } from './router.js';

const plugin = async () => {
  const { createBackendPlugin, coreServices } = await import('@backstage/backend-plugin-api');
  const { default: express } = await import('express');
  return createBackendPlugin({
    pluginId: 'slo-engine',
    register(env) {
      env.registerInit({
        deps: { config: coreServices.rootConfig, logger: coreServices.logger, http: coreServices.httpRouter },
        async init({ config, logger, http }) {
          const client = new SloEngineClient({
            baseUrl: config.getString('sloEngine.baseUrl'),
            region: config.getString('sloEngine.region'),
            apiKey: config.getOptionalString('sloEngine.apiKey'),
            credentials: () => ({
              accessKeyId: process.env.AWS_ACCESS_KEY_ID,
              secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
              sessionToken: process.env.AWS_SESSION_TOKEN,
            }),
          });
          const router = express.Router();
          router.use(createSloEngineHandler({ client, logger }));
          http.use(router);
        },
      });
    },
  });
};

export default plugin;
