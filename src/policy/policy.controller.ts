import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, ApiZodQuery, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { policyDocumentInputSchema } from './core';
import { PolicyAdminService } from './policy-admin.service';
import {
  activateBody,
  bindingBody,
  bindingQuery,
  evaluateBodyDocs,
  evaluateQuery,
  policyNameParam,
  replayBody,
  replayBodyDocs,
} from './policy.schemas';
import { PolicyService } from './policy.service';
import { ReplayService } from './replay.service';

type NameParam = z.infer<typeof policyNameParam>;
const nameParam = new ZodPipe(policyNameParam, 'param');
const ApiName = () => ApiZodParam('name', policyNameParam.shape.name, 'policy name');

@ApiTags('policy')
@ApiBearerAuth()
@Controller('policies')
export class PolicyController {
  constructor(
    private readonly admin: PolicyAdminService,
    private readonly decisions: PolicyService,
    private readonly replays: ReplayService,
  ) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a policy version (admin); the id is the sha256 of the normalized document',
    description: '201 with created: true for a new version; 200 with created: false when it already exists.',
  })
  @ApiZodBody(policyDocumentInputSchema, 'a policy document')
  async create(
    @CurrentCaller() by: Caller,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { version, created } = await this.admin.createVersion(by, body);
    res.status(created ? 201 : 200);
    return { ...version, created };
  }

  @Get()
  @ApiOperation({ summary: 'List policies with their active document and bindings' })
  list() {
    return this.admin.list();
  }

  @Post('replay')
  @Roles('admin', 'auditor')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replay a candidate policy over recorded launch requests (admin, auditor)',
    description: 'Lists each recorded launch whose decision would change (allowed→denied or denied→allowed).',
  })
  @ApiZodBody(replayBodyDocs)
  replay(@Body(new ZodPipe(replayBody)) body: z.infer<typeof replayBody>) {
    return this.replays.replay(body);
  }

  @Get(':name')
  @ApiName()
  @ApiOperation({ summary: 'A policy: active version, document and bindings' })
  get(@Param(nameParam) p: NameParam) {
    return this.admin.get(p.name);
  }

  @Get(':name/versions')
  @ApiName()
  @ApiOperation({ summary: 'Every version of a policy, oldest first' })
  versions(@Param(nameParam) p: NameParam) {
    return this.admin.versions(p.name);
  }

  @Post(':name/activate')
  @ApiName()
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Make a version the active one (admin)' })
  @ApiZodBody(activateBody)
  activate(
    @CurrentCaller() by: Caller,
    @Param(nameParam) p: NameParam,
    @Body(new ZodPipe(activateBody)) body: z.infer<typeof activateBody>,
  ) {
    return this.admin.activate(by, p.name, body.versionId);
  }

  @Post(':name/bindings')
  @ApiName()
  @Roles('admin')
  @ApiOperation({
    summary: 'Bind the policy to a principal, a team or everyone (admin)',
    description: 'A subject is bound to one policy; moving it from another needs "replace": true (else 409).',
  })
  @ApiZodBody(bindingBody)
  async bind(
    @CurrentCaller() by: Caller,
    @Param(nameParam) p: NameParam,
    @Body(new ZodPipe(bindingBody)) body: z.infer<typeof bindingBody>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { binding, created } = await this.admin.bind(by, p.name, body);
    res.status(created ? 201 : 200);
    return { ...binding, created };
  }

  @Delete(':name/bindings')
  @ApiName()
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove a binding (admin): ?kind=team&value=payments' })
  @ApiZodQuery(bindingQuery)
  unbind(
    @CurrentCaller() by: Caller,
    @Param(nameParam) p: NameParam,
    @Query(new ZodPipe(bindingQuery, 'query')) q: z.infer<typeof bindingQuery>,
  ) {
    return this.admin.unbind(by, p.name, q.kind, q.value);
  }

  @Post(':name/evaluate')
  @ApiName()
  @Roles('admin', 'deployer')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Dry run: a launch request in, the decision and effective spec out; nothing is recorded',
  })
  @ApiZodBody(evaluateBodyDocs, 'a launch request')
  @ApiZodQuery(evaluateQuery)
  evaluate(
    @CurrentCaller() by: Caller,
    @Param(nameParam) p: NameParam,
    @Query(new ZodPipe(evaluateQuery, 'query')) q: z.infer<typeof evaluateQuery>,
    @Body() body: unknown,
  ) {
    return this.decisions.evaluateNamed(by, p.name, body, q.versionId);
  }
}
