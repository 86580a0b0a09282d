import type { HeraldConfig } from '@herald/config';
import { InfraModule } from '@herald/runtime';
import { DeliveryModule, WorkerModule, workerThreadCount, WorkerThreads } from '@herald/delivery';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { AdminSessionController } from './admin/admin-session.controller';
import { AdminSessions } from './admin/admin-sessions';
import { AccessPolicy } from './auth/access-policy';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyService } from './auth/api-key.service';
import { ApiKeysController } from './auth/api-keys.controller';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { HealthController } from './health/health.controller';
import { MessagesController } from './messages/messages.controller';
import { ProvidersController } from './providers/providers.controller';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SnsAuthenticator } from './sns/sns-authenticator';
import { SnsPublishActions } from './sns/sns-publish-actions';
import { SnsSigningKeysController } from './sns/sns-signing-keys.controller';
import { SnsSubscriptionActions } from './sns/sns-subscription-actions';
import { SnsTopicActions } from './sns/sns-topic-actions';
import { SnsController } from './sns/sns.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { Redelivery } from './deliveries/redelivery';
import { TopicsController } from './topics/topics.controller';
import { TopicsService } from './topics/topics.service';

@Module({})
export class AppModule {
  /**
   * The HTTP API; with the worker role the workers run in the same process, on threads of their own
   * (HERALD_WORKER_THREADS) or on the API's event loop.
   */
  static forRoot(config: HeraldConfig, logger: Logger): DynamicModule {
    const onThreads = workerThreadCount(config) > 0;
    return {
      module: AppModule,
      imports: [
        InfraModule.forRoot(config, logger),
        DeliveryModule,
        ...(config.roles.has('worker') && !onThreads ? [WorkerModule] : []),
      ],
      controllers: [
        ApiKeysController,
        TopicsController,
        SubscriptionsController,
        MessagesController,
        DeliveriesController,
        DeadLettersController,
        ProvidersController,
        HealthController,
        AdminSessionController,
        SnsSigningKeysController,
        SnsController,
      ],
      providers: [
        ApiKeyService,
        AccessPolicy,
        TopicsService,
        SubscriptionsService,
        Redelivery,
        AdminSessions,
        SnsAuthenticator,
        SnsTopicActions,
        SnsSubscriptionActions,
        SnsPublishActions,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        ...(onThreads ? [WorkerThreads] : []),
      ],
    };
  }
}
